import CFileSystemSync
public import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// POSIX writes that reach the disk: every file and directory is fsynced before the bundle is renamed into place.
public enum DurableFiles {
    /// Creates `path` (which must not exist) with `data`, then fsyncs it (unless `sync` is false: the caller makes
    /// it durable with `syncFileSystem`).
    public static func write(_ data: Data, to path: String, sync: Bool = true) throws(EvidenceError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .writeFailed("open failed (errno \(errno))", path: path) }
        defer { close(fd) }
        var written = 0
        let failure: Int32? = data.withUnsafeBytes { raw -> Int32? in
            guard let base = raw.baseAddress else { return nil }
            while written < raw.count {
                let n = Glibc.write(fd, base + written, raw.count - written)
                if n < 0 {
                    if errno == EINTR { continue }
                    return errno
                }
                written += n
            }
            return nil
        }
        if let failure { throw .writeFailed("write failed (errno \(failure))", path: path) }
        guard !sync || fsync(fd) == 0 else { throw .writeFailed("fsync failed (errno \(errno))", path: path) }
    }

    /// syncfs(2) of the file system holding `path`: every file and directory entry written on it so far is durable
    /// when it returns (Linux reports write-back errors here since 5.8).
    public static func syncFileSystem(of path: String) throws(EvidenceError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .writeFailed("open directory failed (errno \(errno))", path: path) }
        defer { close(fd) }
        guard breakglass_syncfs(fd) == 0 else { throw .writeFailed("syncfs failed (errno \(errno))", path: path) }
    }

    public static func makeDirectory(_ path: String) throws(EvidenceError) {
        guard mkdir(path, 0o700) == 0 || errno == EEXIST else {
            throw .writeFailed("mkdir failed (errno \(errno))", path: path)
        }
    }

    /// fsync of a directory, so a rename or a new entry in it is durable.
    public static func syncDirectory(_ path: String) throws(EvidenceError) {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw .writeFailed("open directory failed (errno \(errno))", path: path) }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw .writeFailed("fsync of directory failed (errno \(errno))", path: path) }
    }

    /// rename(2); fails when `to` exists as a non-empty directory.
    static func rename(_ from: String, to: String) throws(EvidenceError) {
        guard Glibc.rename(from, to) == 0 else {
            if errno == ENOTEMPTY || errno == EEXIST { throw .bundleExists(to) }
            throw .writeFailed("rename failed (errno \(errno))", path: to)
        }
    }
}
