#define _GNU_SOURCE
#include <unistd.h>
#include "CFileSystemSync.h"

int breakglass_syncfs(int fd) { return syncfs(fd); }
