/* vasdk compile-time version. The runtime version is vas_version() / vas_version_number(). */
#ifndef VASDK_VERSION_H_
#define VASDK_VERSION_H_

#define VAS_VERSION_MAJOR 0
#define VAS_VERSION_MINOR 1
#define VAS_VERSION_PATCH 0
#define VAS_VERSION_NUMBER (VAS_VERSION_MAJOR * 10000 + VAS_VERSION_MINOR * 100 + VAS_VERSION_PATCH)

#endif /* VASDK_VERSION_H_ */
