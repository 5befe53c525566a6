// libpng through its "simplified" API (png_image_*): errors come back as return codes and a message in the
// image struct (libpng's own setjmp stays inside the library), which Swift can survive.
#ifndef INSPECTD_CPNG_SHIM_H
#define INSPECTD_CPNG_SHIM_H
#include <stdlib.h>
#include <string.h>
#include <png.h>

static const unsigned int CPNG_FORMAT_GRAY = PNG_FORMAT_GRAY;
static const unsigned int CPNG_FORMAT_RGB = PNG_FORMAT_RGB;
static const unsigned int CPNG_FORMAT_FLAG_COLOR = PNG_FORMAT_FLAG_COLOR;

/// Starts reading a PNG held in memory; returns nonzero on success (message in image->message otherwise).
static inline int cpng_begin_read(png_imagep image, const void *data, size_t size) {
    memset(image, 0, sizeof(*image));
    image->version = PNG_IMAGE_VERSION;
    return png_image_begin_read_from_memory(image, data, size);
}

/// Prepares `image` for one of the png_image_write_* calls: a `width`×`height` image of `format`.
static inline void cpng_prepare_write(png_imagep image, png_uint_32 width, png_uint_32 height, png_uint_32 format) {
    memset(image, 0, sizeof(*image));
    image->version = PNG_IMAGE_VERSION;
    image->width = width;
    image->height = height;
    image->format = format;
}
#endif
