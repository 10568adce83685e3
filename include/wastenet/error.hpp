// wastenet/error.hpp - the exceptions the library throws. Standard library only.
//
// Every error names the file (or argument) it is about and what is wrong with it, so that a
// message on a device's log is enough to act on:
//
//   try { auto model = wastenet::load_model("bin.safetensors"); }
//   catch (const wastenet::FormatError& e) { log(e.what()); }  // "bin.safetensors: header length ..."
#pragma once

#include <stdexcept>
#include <string>

namespace wastenet {

/// Base of everything wastenet throws.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A file could not be opened or read.
class FileError : public Error {
 public:
  using Error::Error;
};

/// A file is not what it claims to be: bad safetensors header, offsets, dtypes, shapes.
class FormatError : public Error {
 public:
  using Error::Error;
};

/// A well-formed weights file does not fit the architecture: missing, extra or misshapen
/// tensors, a class list that does not match the classifier, an unknown architecture name.
class ModelError : public Error {
 public:
  using Error::Error;
};

/// An image file could not be decoded, or has a size the library refuses.
class ImageError : public Error {
 public:
  using Error::Error;
};

/// A parameter passed by the caller is out of its documented range.
class ArgumentError : public Error {
 public:
  using Error::Error;
};

}  // namespace wastenet
