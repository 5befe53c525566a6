// CBuildInfo: the version, git commit and build date compiled into inspectd. SwiftPM has no string defines for
// Swift, so Package.swift passes them as C defines to build_info.c only (from INSPECTD_VERSION,
// INSPECTD_GIT_COMMIT and INSPECTD_BUILD_DATE in the environment of `swift build`; Scripts/package sets them).
// Only build_info.c sees the defines, so a new commit recompiles one C file, not the package.
#ifndef INSPECTD_CBUILDINFO_H
#define INSPECTD_CBUILDINFO_H

/// The release version ("dev" in a build without INSPECTD_VERSION).
const char *inspectd_build_version(void);
/// The git commit the binary was built from ("unknown" without INSPECTD_GIT_COMMIT).
const char *inspectd_build_commit(void);
/// When the binary was built, ISO 8601 UTC ("unknown" without INSPECTD_BUILD_DATE).
const char *inspectd_build_date(void);

#endif
