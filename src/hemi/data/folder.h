// Image folders: one subfolder per class, each holding JPEG or PNG files.
//   <dir>/<class>/<file>.{jpg,jpeg,png}  (any case of the extension; spaces allowed)
// Classes are the subfolder names sorted bytewise (brain-mri: no = 0, yes = 1); files are
// sorted bytewise by name within their class, so the order is deterministic. Hidden entries
// (".*") and files with other extensions are ignored.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "hemi/data/image_set.h"
#include "hemi/data/options.h"

namespace hemi::data {

// The files of an image folder, not yet decoded. files[i] has label labels[i].
struct FolderListing {
  std::string root;
  std::vector<std::string> class_names;
  std::vector<std::string> files;  // full paths, class by class
  std::vector<int> labels;
};

// A file that was skipped under LoadOptions::skip_bad, and why.
struct BadFile {
  std::string path;
  std::string reason;
};

// Lists an image folder. Throws hemi::Error naming the folder if it cannot be read, has no
// class subfolders, or a class subfolder has no image files.
FolderListing list_image_folder(const std::string& dir);

// Decodes listing.files[i] for each i in `indices` (in that order) into an ImageSet per `opts`
// (opts.limit is not applied here). A file that cannot be decoded is an error naming it, or
// with opts.skip_bad it is left out and appended to *skipped (if given).
ImageSet load_listed_images(const FolderListing& listing, const std::vector<std::size_t>& indices,
                            const LoadOptions& opts, std::vector<BadFile>* skipped = nullptr);

// list_image_folder + load_listed_images of every file (or of a seeded random subset of
// opts.limit files, kept in listing order).
ImageSet load_image_folder(const std::string& dir, const LoadOptions& opts,
                           std::vector<BadFile>* skipped = nullptr);

}  // namespace hemi::data
