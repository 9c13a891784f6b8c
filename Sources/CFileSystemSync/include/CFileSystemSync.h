#ifndef C_FILE_SYSTEM_SYNC_H
#define C_FILE_SYSTEM_SYNC_H

/// syncfs(2) (a GNU extension Swift's Glibc module does not expose): every dirty page and inode of the file system
/// holding `fd` is written back when it returns; 0 on success, -1 with errno set.
int breakglass_syncfs(int fd);

#endif
