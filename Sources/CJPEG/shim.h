// libjpeg-turbo through its TurboJPEG API: errors come back as return codes (classic libjpeg would exit or
// longjmp, which Swift cannot survive).
#ifndef INSPECTD_CJPEG_SHIM_H
#define INSPECTD_CJPEG_SHIM_H
#include <stdio.h>
#include <turbojpeg.h>
#endif
