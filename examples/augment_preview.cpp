// wastenet-augment-preview: a PNG grid of one image under each augmentation at a few strengths,
// so a person can see what the operations do before training or evaluating with them.
//
//   wastenet-augment-preview [--cell WIDTH] [--seed S] IMAGE OUTPUT.png
//
// One row per operation: the original on the left, then increasing strengths; each row and cell is
// labelled (text drawn with stb_easy_font).
#include <algorithm>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

// stb_easy_font defines its functions static in the header: the ones not called here are unused.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

#include "cli.hpp"
#include "wastenet/augment.hpp"
#include "wastenet/io/image.hpp"

namespace {

namespace aug = wastenet::augment;
using wastenet::ImageU8;

const char* const usage = "usage: wastenet-augment-preview [--cell WIDTH] [--seed S] IMAGE OUTPUT.png\n";

struct Row {
  std::string name;
  std::vector<std::pair<std::string, std::function<ImageU8(const ImageU8&, aug::Rng&)>>> cells;
};

std::vector<Row> rows() {
  aug::WarpOptions reflect, nearest;
  reflect.fill = aug::Fill::reflect;
  nearest.fill = aug::Fill::nearest;
  auto rot = [=](double d) { return [=](const ImageU8& i, aug::Rng&) { return aug::rotate(i, d, reflect); }; };
  auto zm = [=](double f) { return [=](const ImageU8& i, aug::Rng&) { return aug::zoom(i, f, nearest); }; };
  auto tr = [](double f) { return [=](const ImageU8& i, aug::Rng&) { return aug::translate(i, f, f / 2); }; };
  auto br = [](double f) { return [=](const ImageU8& i, aug::Rng&) { return aug::adjust_brightness(i, f); }; };
  auto ct = [](double f) { return [=](const ImageU8& i, aug::Rng&) { return aug::adjust_contrast(i, f); }; };
  auto sat = [](double f) { return [=](const ImageU8& i, aug::Rng&) { return aug::adjust_saturation(i, f); }; };
  auto gam = [](double g) { return [=](const ImageU8& i, aug::Rng&) { return aug::adjust_gamma(i, g); }; };
  auto gl = [](double s) {
    return [=](const ImageU8& i, aug::Rng&) {
      aug::Glare g;
      g.cx = 0.4, g.cy = 0.35, g.rx = 0.25, g.ry = 0.15, g.degrees = 30, g.strength = s;
      return aug::add_glare(i, g);
    };
  };
  auto gb = [](double s) { return [=](const ImageU8& i, aug::Rng&) { return aug::gaussian_blur(i, s); }; };
  auto mb = [](int l) { return [=](const ImageU8& i, aug::Rng&) { return aug::motion_blur(i, l, 30); }; };
  auto no = [](double s) { return [=](const ImageU8& i, aug::Rng& r) { return aug::add_gaussian_noise(i, s, r); }; };
  auto co = [](double f) {
    return [=](const ImageU8& i, aug::Rng&) {
      const int w = static_cast<int>(f * i.width()), h = static_cast<int>(f * i.height());
      return aug::cutout(i, (i.width() - w) / 2, (i.height() - h) / 2, w, h, 0);
    };
  };
  auto rrc = [](double lo) {
    return [=](const ImageU8& i, aug::Rng& r) { return aug::random_resized_crop(i, i.width(), i.height(), r, {lo, lo}); };
  };
  return {
      {"flip", {{"horizontal", [](const ImageU8& i, aug::Rng&) { return aug::flip_horizontal(i); }},
                {"vertical", [](const ImageU8& i, aug::Rng&) { return aug::flip_vertical(i); }},
                {"both", [](const ImageU8& i, aug::Rng&) { return aug::flip_vertical(aug::flip_horizontal(i)); }}}},
      {"rotate (reflect fill)", {{"15 deg", rot(15)}, {"45 deg", rot(45)}, {"90 deg", rot(90)}, {"180 deg", rot(180)}}},
      {"translate x, y/2", {{"0.05", tr(0.05)}, {"0.1", tr(0.1)}, {"0.2", tr(0.2)}, {"0.3", tr(0.3)}}},
      {"zoom (Keras factor)", {{"-0.5 (in)", zm(-0.5)}, {"-0.25", zm(-0.25)}, {"+0.25", zm(0.25)}, {"+0.75 (out)", zm(0.75)}}},
      {"random resized crop", {{"area 0.8", rrc(0.8)}, {"area 0.5", rrc(0.5)}, {"area 0.3", rrc(0.3)}, {"area 0.1", rrc(0.1)}}},
      {"brightness", {{"0.4", br(0.4)}, {"0.7", br(0.7)}, {"1.3", br(1.3)}, {"1.6", br(1.6)}}},
      {"contrast", {{"0.4", ct(0.4)}, {"0.7", ct(0.7)}, {"1.3", ct(1.3)}, {"1.6", ct(1.6)}}},
      {"saturation", {{"0", sat(0)}, {"0.5", sat(0.5)}, {"1.5", sat(1.5)}, {"2", sat(2)}}},
      {"gamma", {{"0.5", gam(0.5)}, {"0.75", gam(0.75)}, {"1.5", gam(1.5)}, {"2", gam(2)}}},
      {"glare", {{"0.25", gl(0.25)}, {"0.5", gl(0.5)}, {"0.75", gl(0.75)}, {"1.0", gl(1.0)}}},
      {"gaussian blur", {{"sigma 1", gb(1)}, {"sigma 2", gb(2)}, {"sigma 4", gb(4)}, {"sigma 8", gb(8)}}},
      {"motion blur (30 deg)", {{"5 px", mb(5)}, {"11 px", mb(11)}, {"21 px", mb(21)}, {"41 px", mb(41)}}},
      {"gaussian noise", {{"0.02", no(0.02)}, {"0.05", no(0.05)}, {"0.1", no(0.1)}, {"0.2", no(0.2)}}},
      {"cutout", {{"0.1", co(0.1)}, {"0.2", co(0.2)}, {"0.3", co(0.3)}, {"0.5", co(0.5)}}},
  };
}

// Draws `text` at (x, y) in black, each font pixel `scale` x `scale` (stb_easy_font gives quads).
void draw_text(ImageU8& img, int x, int y, const std::string& text, int scale) {
  static char buffer[99999];
  const int quads = stb_easy_font_print(0, 0, const_cast<char*>(text.c_str()), nullptr, buffer, sizeof(buffer));
  for (int q = 0; q < quads; ++q) {
    const float* v = reinterpret_cast<const float*>(buffer + q * 4 * 16);  // 4 vertices of x, y, z, colour
    const int x0 = x + static_cast<int>(v[0] * scale), y0 = y + static_cast<int>(v[1] * scale);
    const int x1 = x + static_cast<int>(v[8] * scale), y1 = y + static_cast<int>(v[9] * scale);
    for (int yy = std::max(y0, 0); yy < std::min(y1, img.height()); ++yy) {
      for (int xx = std::max(x0, 0); xx < std::min(x1, img.width()); ++xx) {
        for (int c = 0; c < img.channels(); ++c) img(yy, xx, c) = 0;
      }
    }
  }
}

void paste(ImageU8& dst, const ImageU8& src, int x, int y) {
  for (int r = 0; r < src.height(); ++r) std::copy(src.row(r), src.row(r) + src.row_stride(), dst.row(y + r) + static_cast<std::size_t>(x) * 3);
}

int run(int argc, char** argv) {
  const auto args = wastenet::cli::parse(argc, argv, {"cell", "seed"}, {"help"});
  if (args.has("help")) {
    std::fputs(usage, stdout);
    return 0;
  }
  if (args.positional.size() != 2) throw wastenet::ArgumentError("expected IMAGE and OUTPUT.png (see --help)");
  const int cell_w = static_cast<int>(args.get_int("cell", 160, 32, 1024));
  const auto seed = static_cast<std::uint64_t>(args.get_int("seed", 0, 0, 1L << 40));
  const ImageU8 img = wastenet::read_image(args.positional[0]);
  const int cell_h = std::max(1, cell_w * img.height() / img.width());
  const auto table = rows();
  std::size_t columns = 0;
  for (const auto& r : table) columns = std::max(columns, r.cells.size() + 1);
  const int label_h = 16, title_w = 150, pad = 6;
  const int W = title_w + static_cast<int>(columns) * (cell_w + pad);
  const int H = static_cast<int>(table.size()) * (cell_h + label_h + pad) + pad;
  ImageU8 grid(W, H, 3, 255);
  const ImageU8 original = aug::resize(img, cell_w, cell_h, aug::ResizeFilter::area);
  for (std::size_t r = 0; r < table.size(); ++r) {
    const int y = pad + static_cast<int>(r) * (cell_h + label_h + pad);
    draw_text(grid, 6, y + label_h + cell_h / 2 - 6, table[r].name, 1);
    draw_text(grid, title_w, y + 2, "original", 1);
    paste(grid, original, title_w, y + label_h);
    for (std::size_t c = 0; c < table[r].cells.size(); ++c) {
      aug::Rng rng(seed, r * 16 + c);
      // Operations run on the full-resolution image, so pixel sizes (blur, noise) mean what they say.
      const ImageU8 out = aug::resize(table[r].cells[c].second(img, rng), cell_w, cell_h, aug::ResizeFilter::area);
      const int x = title_w + static_cast<int>(c + 1) * (cell_w + pad);
      draw_text(grid, x, y + 2, table[r].cells[c].first, 1);
      paste(grid, out, x, y + label_h);
    }
  }
  wastenet::write_png(args.positional[1], grid);
  std::printf("wrote %s (%dx%d): %zu operations\n", args.positional[1].c_str(), W, H, table.size());
  return 0;
}

}  // namespace

int main(int argc, char** argv) { return wastenet::cli::run_tool("wastenet-augment-preview", argc, argv, run); }
