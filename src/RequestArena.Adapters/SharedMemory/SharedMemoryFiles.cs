using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Microsoft.Win32.SafeHandles;

namespace RequestArena.Adapters;

// The file-system checks behind the backing files of shared memory blocks on Linux, where a block is a file in a
// directory any local user can write to. .NET exposes neither a file's owner, nor open without following symlinks,
// nor the type of a file system, so these few calls go to libc directly. The structures read are the kernel's
// architecture-independent ones (statx) or only their first field (statfs).
[SupportedOSPlatform("linux")]
internal static unsafe partial class SharedMemoryFiles
{
    private const uint TmpfsMagic = 0x01021994;
    private const uint RamfsMagic = 0x858458F6;

    private const int ORdOnly = 0;
    private const int ORdWr = 2;
    private const int ONonBlock = 0x800;
    private const int OCloExec = 0x80000;
    private const int ENoEnt = 2;
    // flock's answer when another process holds the lock; FileStream reports a sharing violation with it as HResult.
    internal const int EWouldBlock = 11;
    private const int ELoop = 40;

    private const int LockShared = 1;
    private const int LockExclusive = 2;
    private const int LockNonBlocking = 4;

    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const int AtEmptyPath = 0x1000;
    private const uint StatxBasicStats = 0x7FF;
    private const int StatxSize = 256;
    private const int StatxLinks = 16;
    private const int StatxUid = 20;
    private const int StatxMode = 28;
    private const int StatFsSize = 256;
    private const ushort FileTypeMask = 0xF000;
    private const ushort RegularFile = 0x8000;

    // O_NOFOLLOW is not the same number on every Linux architecture.
    private static int ONoFollow => RuntimeInformation.ProcessArchitecture switch
    {
        Architecture.Arm or Architecture.Arm64 or Architecture.Armv6 or Architecture.Ppc64le => 0x8000,
        _ => 0x20000,
    };

    // True when `path` lies on a file system held in memory (tmpfs, ramfs); false for a disk, a network file system or
    // a path that cannot be examined.
    public static bool IsOnMemoryFileSystem(string path)
    {
        byte* buffer = stackalloc byte[StatFsSize];
        return statfs(path, buffer) == 0 && IsMemoryFileSystem(buffer);
    }

    public static bool IsOnMemoryFileSystem(SafeFileHandle file)
    {
        byte* buffer = stackalloc byte[StatFsSize];
        return fstatfs(Descriptor(file), buffer) == 0 && IsMemoryFileSystem(buffer);
    }

    // Opens an existing block's file for reading and writing without following a symlink in its last component, and
    // refuses anything but a regular file owned by this process's user. The checks are made on the open descriptor,
    // so the file cannot be swapped between the check and the use.
    public static SafeFileHandle OpenBlockFile(string path)
    {
        int fd = open(path, ORdWr | OCloExec | ONoFollow);
        if (fd < 0)
        {
            int error = Marshal.GetLastPInvokeError();
            throw error switch
            {
                ENoEnt => new FileNotFoundException($"No shared memory block named '{Path.GetFileName(path)}' exists in {Path.GetDirectoryName(path)}.", path),
                ELoop => new UnauthorizedAccessException($"'{path}' is a symbolic link, not a shared memory block; refusing to follow it."),
                _ => new IOException($"Cannot open the shared memory block '{path}': {Marshal.GetPInvokeErrorMessage(error)} (errno {error}).", error),
            };
        }

        var handle = new SafeFileHandle(fd, ownsHandle: true);
        try
        {
            byte* stat = stackalloc byte[StatxSize];
            if (statx(fd, "", AtEmptyPath, StatxBasicStats, stat) != 0)
            {
                int error = Marshal.GetLastPInvokeError();
                throw new IOException($"Cannot examine the shared memory block '{path}': {Marshal.GetPInvokeErrorMessage(error)} (errno {error}).", error);
            }

            ushort mode = *(ushort*)(stat + StatxMode);
            if ((mode & FileTypeMask) != RegularFile)
            {
                throw new UnauthorizedAccessException($"'{path}' is not a regular file (mode 0{Convert.ToString(mode, 8)}), so it is not a shared memory block; refusing it.");
            }

            uint owner = *(uint*)(stat + StatxUid);
            uint self = geteuid();
            if (owner != self)
            {
                throw new UnauthorizedAccessException($"'{path}' belongs to user {owner}, not to this process's user {self}; a block is only trusted from its own user. Refusing it.");
            }

            return handle;
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    // Takes the shared lock that marks a block's file as in use for as long as `file` stays open (flock locks belong
    // to the open file, and the mapping keeps it open until the block is freed), and checks that the file still has
    // its name: a sweep may have removed it between its creation and the lock. False means the name is lost and the
    // block must not be used. A file system without flock is no refusal: a sweep cannot lock there either, so it
    // removes nothing.
    public static bool TryHoldBlockFile(SafeFileHandle file)
    {
        int fd = Descriptor(file);
        if (flock(fd, LockShared | LockNonBlocking) != 0 && Marshal.GetLastPInvokeError() == EWouldBlock)
        {
            return false;
        }

        byte* stat = stackalloc byte[StatxSize];
        return statx(fd, "", AtEmptyPath, StatxBasicStats, stat) != 0 || *(uint*)(stat + StatxLinks) > 0;
    }

    // Removes the files that processes of this user left behind when they ended without freeing their blocks: names
    // `{prefix}-{pid}-{counter}-{8 hex digits}` whose file no process holds any more. A block's owner holds a shared
    // lock on its file from creation to free (TryHoldBlockFile), and the kernel drops it when the process ends however
    // it ends, so a file nobody holds is abandoned whatever its pid says: the pid may be in use again (a restarted
    // container is PID 1 every time) or belong to another PID namespace that shares the directory. Files still held,
    // files of other users, symlinks and other names stay.
    public static int SweepDeadBlocks(string directory, string prefix)
    {
        int removed = 0;
        IEnumerable<string> candidates;
        try
        {
            candidates = Directory.EnumerateFiles(directory, prefix + "-*");
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return 0;
        }

        uint self = geteuid();
        byte* stat = stackalloc byte[StatxSize];
        foreach (string path in candidates)
        {
            if (!IsBlockName(Path.GetFileName(path), prefix))
            {
                continue;
            }

            // Never through a symlink; non-blocking, so a FIFO planted under the name cannot hold the sweep up.
            int fd = open(path, ORdOnly | ONonBlock | OCloExec | ONoFollow);
            if (fd < 0)
            {
                continue;
            }

            using var file = new SafeFileHandle(fd, ownsHandle: true);

            // Only this user's regular files, and only those no process holds: the exclusive lock is refused while
            // any owner keeps its shared one, and while it is held here no new owner can take one.
            if (statx(fd, "", AtEmptyPath, StatxBasicStats, stat) != 0
                || (*(ushort*)(stat + StatxMode) & FileTypeMask) != RegularFile
                || *(uint*)(stat + StatxUid) != self
                || flock(fd, LockExclusive | LockNonBlocking) != 0)
            {
                continue;
            }

            try
            {
                File.Delete(path);
                removed++;
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Another process may be sweeping the same directory; the file is gone or not ours to remove.
            }
        }

        return removed;
    }

    internal static bool IsBlockName(string name, string prefix)
    {
        if (name.Length <= prefix.Length + 1 || !name.StartsWith(prefix, StringComparison.Ordinal) || name[prefix.Length] != '-')
        {
            return false;
        }

        string[] parts = name[(prefix.Length + 1)..].Split('-');
        return parts.Length == 3
            && parts[0].Length is > 0 and <= 10 && parts[0].All(char.IsAsciiDigit)
            && int.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out int pid) && pid > 0
            && parts[1].Length > 0 && parts[1].All(char.IsAsciiDigit)
            && parts[2].Length == 8 && parts[2].All(char.IsAsciiHexDigitLower);
    }

    private static bool IsMemoryFileSystem(byte* statFs)
    {
        // f_type is the first field: a long on 64-bit systems, an int on 32-bit ones.
        ulong type = IntPtr.Size == 8 ? *(ulong*)statFs : *(uint*)statFs;
        return type is TmpfsMagic or RamfsMagic;
    }

    private static int Descriptor(SafeFileHandle file) => (int)file.DangerousGetHandle();

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int statfs(string path, byte* buffer);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fstatfs(int fd, byte* buffer);

    [LibraryImport("libc")]
    private static partial uint geteuid();

    [LibraryImport("libc", SetLastError = true)]
    private static partial int flock(int fd, int operation);
}
