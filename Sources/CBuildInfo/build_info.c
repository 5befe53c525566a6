#include "CBuildInfo.h"

#ifndef INSPECTD_VERSION
#define INSPECTD_VERSION "dev"
#endif
#ifndef INSPECTD_GIT_COMMIT
#define INSPECTD_GIT_COMMIT "unknown"
#endif
#ifndef INSPECTD_BUILD_DATE
#define INSPECTD_BUILD_DATE "unknown"
#endif

const char *inspectd_build_version(void) { return INSPECTD_VERSION; }
const char *inspectd_build_commit(void) { return INSPECTD_GIT_COMMIT; }
const char *inspectd_build_date(void) { return INSPECTD_BUILD_DATE; }
