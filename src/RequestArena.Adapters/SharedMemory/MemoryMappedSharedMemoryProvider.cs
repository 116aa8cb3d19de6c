using System.IO.MemoryMappedFiles;
using System.Runtime.Versioning;
using System.Security.Cryptography;

namespace RequestArena.Adapters;

/// <summary>
/// An <see cref="ISharedMemoryProvider"/> on operating-system shared memory: every block is its own memory-mapped
/// object with a unique name, so another process can map the same bytes with <see cref="OpenExisting"/>.
/// </summary>
/// <remarks>
/// <para>
/// On Windows a block is a named, page-file backed mapping. Named mappings do not exist elsewhere, so on Linux and
/// macOS a block is a file created in <see cref="Directory"/> (on Linux <c>/dev/shm</c>, a memory file system) and
/// mapped with <see cref="MemoryMappedFile.CreateFromFile(FileStream, string?, long, MemoryMappedFileAccess, HandleInheritability, bool)"/>;
/// the file is readable and writable by its owner only, and is deleted when the block is freed. Mappings other
/// processes still hold stay valid until they close them.
/// </para>
/// <para>
/// A block's file is given all its space when it is created, so a full memory file system makes the allocation fail
/// with <see cref="SlabProviderStatus.Resources"/> and leaves no file behind, instead of faulting later, when a page
/// of a sparse file is first touched. On Linux the provider refuses a directory that is not a memory file system
/// unless <see cref="MemoryMappedSharedMemoryProviderOptions.AllowNonMemoryFileSystem"/> is set. It holds a shared
/// <c>flock</c> on each block's file until the block is freed, and when it is created it removes the files under its
/// <see cref="MemoryMappedSharedMemoryProviderOptions.NamePrefix"/> that no process of the same user holds any more:
/// blocks of processes that ended without freeing them, whatever became of their process ids.
/// </para>
/// </remarks>
public sealed unsafe class MemoryMappedSharedMemoryProvider : ISharedMemoryProvider
{
    private const int MaxAlignment = 1 << 20;
    private const int NameAttempts = 4;

    // A file name holds 255 bytes; a block's name adds to the prefix at most "-", a pid (10 digits), "-", a counter
    // (19 digits), "-" and 8 hex digits.
    private const int MaxNameSuffixLength = 40;
    private const int MaxNamePrefixLength = 255 - MaxNameSuffixLength;

    private static long s_lastBlock;

    private readonly string? _directory;
    private readonly string _namePrefix;
    private readonly long _maxBytes;
    private readonly bool _allowNonMemoryFileSystem;
    private long _bytesInUse;
    private long _mappedBytes;   // what MaxBytes bounds: the mappings' lengths, alignment padding included
    private int _blocksInUse;

    /// <summary>Creates a provider.</summary>
    /// <param name="options">The options; null takes the defaults.</param>
    /// <exception cref="ArgumentException">
    /// The name prefix holds characters other than letters, digits, '-' and '_', or is longer than 215 characters (a
    /// block's name would not fit a file name); the directory is empty, blank or holds a NUL character; no directory is
    /// set and the system has no <c>/dev/shm</c>; or (on Linux) the directory is not a memory file system and
    /// <see cref="MemoryMappedSharedMemoryProviderOptions.AllowNonMemoryFileSystem"/> is not set.
    /// </exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="MemoryMappedSharedMemoryProviderOptions.MaxBytes"/> is negative.</exception>
    public MemoryMappedSharedMemoryProvider(MemoryMappedSharedMemoryProviderOptions? options = null)
    {
        options ??= new MemoryMappedSharedMemoryProviderOptions();
        if (string.IsNullOrEmpty(options.NamePrefix) || !IsSafeName(options.NamePrefix))
        {
            throw new ArgumentException("NamePrefix must be non-empty and hold only letters, digits, '-' and '_'.", nameof(options));
        }

        if (options.NamePrefix.Length > MaxNamePrefixLength)
        {
            throw new ArgumentException(
                $"NamePrefix is {options.NamePrefix.Length} characters long; at most {MaxNamePrefixLength} leave room in a file name (255 bytes) for the {MaxNameSuffixLength} characters every block adds to it.",
                nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxBytes, nameof(options.MaxBytes));
        _namePrefix = options.NamePrefix;
        _maxBytes = options.MaxBytes;
        _allowNonMemoryFileSystem = options.AllowNonMemoryFileSystem;
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        _directory = ResolveDirectory(options.Directory, _allowNonMemoryFileSystem, nameof(options));
        if (OperatingSystem.IsLinux() && System.IO.Directory.Exists(_directory))
        {
            SharedMemoryFiles.SweepDeadBlocks(_directory, _namePrefix);
        }
    }

    /// <summary>
    /// Where backing files live when the system has no named mappings: <c>/dev/shm</c> when it exists, otherwise null
    /// (a directory must then be given; the temporary directory is never taken silently, as it may put request data on
    /// a disk). Null on Windows.
    /// </summary>
    public static string? DefaultDirectory =>
        OperatingSystem.IsWindows() ? null : System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : null;

    /// <summary>The directory of the backing files; null on Windows.</summary>
    public string? Directory => _directory;

    /// <summary>Bytes mapped now (block lengths, without alignment padding).</summary>
    public long BytesInUse => Interlocked.Read(ref _bytesInUse);

    /// <summary>Blocks allocated and not freed yet.</summary>
    public int BlocksInUse => Volatile.Read(ref _blocksInUse);

    /// <summary>
    /// Maps an existing block by name (as another process does), read-write, over the whole named mapping; the
    /// block lies at <see cref="SharedMemoryHandle.Offset"/> within it.
    /// </summary>
    /// <remarks>
    /// The directory is one every local user may write to, so on Linux the file is opened without following a
    /// symlink, and refused unless it is a regular file owned by this process's user on a memory file system: another
    /// user cannot plant a file of their own under a name this process is about to open. On macOS these checks are
    /// not made.
    /// </remarks>
    /// <param name="name">The block's <see cref="SharedMemoryHandle.Name"/>.</param>
    /// <param name="directory">Where the backing files live (Linux and macOS); null takes <see cref="DefaultDirectory"/>.</param>
    /// <param name="allowNonMemoryFileSystem">
    /// Accept a directory that is not a memory file system, as
    /// <see cref="MemoryMappedSharedMemoryProviderOptions.AllowNonMemoryFileSystem"/> does for the provider.
    /// </param>
    /// <returns>The mapping; dispose it when done.</returns>
    /// <exception cref="ArgumentException">
    /// <paramref name="name"/> is empty or holds characters a block name never has; <paramref name="directory"/> is
    /// empty, blank or holds a NUL character; no directory is given and the system has no <c>/dev/shm</c>; or (on
    /// Linux) the directory is not a memory file system and <paramref name="allowNonMemoryFileSystem"/> is false.
    /// </exception>
    /// <exception cref="FileNotFoundException">No block of that name exists.</exception>
    /// <exception cref="UnauthorizedAccessException">
    /// (Linux) The name is a symbolic link, not a regular file, or a file that belongs to another user; or the file
    /// itself is not on a memory file system although its directory was (a mount or rename in between), and
    /// <paramref name="allowNonMemoryFileSystem"/> is false.
    /// </exception>
    public static SharedMemoryMapping OpenExisting(string name, string? directory = null, bool allowNonMemoryFileSystem = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);

        // A name is never a path: refuse anything that could reach outside the directory.
        if (!IsSafeName(name))
        {
            throw new ArgumentException("A shared memory block name holds only letters, digits, '-' and '_'.", nameof(name));
        }

        if (OperatingSystem.IsWindows())
        {
            return OpenExistingWindows(name);
        }

        string path = Path.Combine(ResolveDirectory(directory, allowNonMemoryFileSystem, nameof(directory)), name);
        FileStream stream = OperatingSystem.IsLinux()
            ? OpenCheckedLinux(path, allowNonMemoryFileSystem)
            : new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
        long length = stream.Length;
        MemoryMappedFile? file = null;
        try
        {
            file = MemoryMappedFile.CreateFromFile(stream, null, 0, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            return new SharedMemoryMapping(name, file, length);
        }
        catch
        {
            if (file is null)
            {
                stream.Dispose();
            }
            else
            {
                file.Dispose();
            }

            throw;
        }
    }

    /// <inheritdoc />
    public SlabProviderStatus AllocateSharedMemory(object? providerContext, SharedMemoryParameters parameters, out SharedMemoryHandle? handle)
    {
        handle = null;
        int length = parameters.Length;
        int alignment = parameters.Alignment;
        if (length <= 0 || alignment <= 0 || alignment > MaxAlignment || (alignment & (alignment - 1)) != 0)
        {
            return SlabProviderStatus.InvalidParameter;
        }

        // Mappings start on a page boundary; a larger alignment is reached by padding.
        int padding = Math.Max(0, alignment - Environment.SystemPageSize);
        long mappedLength = (long)length + padding;

        if (!ReserveBudget(mappedLength))
        {
            return SlabProviderStatus.Resources;
        }

        Interlocked.Add(ref _bytesInUse, length);

        SlabProviderStatus status;
        try
        {
            status = Map(mappedLength, out MappedBlock? block);
            if (status == SlabProviderStatus.Success)
            {
                byte* start = block!.Pointer;
                long offset = (long)((((nuint)start + (nuint)(alignment - 1)) & ~(nuint)(alignment - 1)) - (nuint)start);
                handle = new SharedMemoryHandle(block.Name, (nint)(start + offset), length, offset, block);
                block.Handle = handle;
                Interlocked.Increment(ref _blocksInUse);
                return SlabProviderStatus.Success;
            }
        }
        catch (Exception)
        {
            status = SlabProviderStatus.Failure;
        }

        Interlocked.Add(ref _bytesInUse, -length);
        Interlocked.Add(ref _mappedBytes, -mappedLength);
        return status;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Only the handle <see cref="AllocateSharedMemory"/> returned frees its block, once; any other handle (one built
    /// from the same <see cref="SharedMemoryHandle.ProviderState"/> included) and a second free answer
    /// <see cref="SlabProviderStatus.InvalidParameter"/>. A backing file the directory refuses to remove once the
    /// block is unmapped is left for a later provider's sweep; the block is freed all the same.
    /// </remarks>
    public SlabProviderStatus FreeSharedMemory(object? providerContext, SharedMemoryHandle handle)
    {
        // The freed state that decides is the block's own: the handle's is public, so its holder can set it.
        if (handle?.ProviderState is not MappedBlock block || block.Provider != this || block.Handle != handle || !block.TryMarkFreed())
        {
            return SlabProviderStatus.InvalidParameter;
        }

        handle.TryMarkFreed();
        try
        {
            block.Dispose();
        }
        finally
        {
            // Past this point the block can never be freed again: its budget must come back whatever Dispose did.
            Interlocked.Add(ref _bytesInUse, -handle.Length);
            Interlocked.Add(ref _mappedBytes, -block.Length);
            Interlocked.Decrement(ref _blocksInUse);
        }

        return SlabProviderStatus.Success;
    }

    [SupportedOSPlatform("linux")]
    private static FileStream OpenCheckedLinux(string path, bool allowNonMemoryFileSystem)
    {
        Microsoft.Win32.SafeHandles.SafeFileHandle handle = SharedMemoryFiles.OpenBlockFile(path);
        try
        {
            // The directory was checked by name; the file is checked again through its descriptor, which no rename,
            // symlink or mount can redirect.
            if (!allowNonMemoryFileSystem && !SharedMemoryFiles.IsOnMemoryFileSystem(handle))
            {
                throw new UnauthorizedAccessException($"'{path}' is not on a memory file system; refusing it.");
            }

            return new FileStream(handle, FileAccess.ReadWrite);
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    // The directory backing files live in: the one given, else /dev/shm. On Linux it must be a memory file system
    // (when it exists) unless the caller allowed otherwise.
    private static string ResolveDirectory(string? directory, bool allowNonMemoryFileSystem, string parameterName)
    {
        if (directory is not null && (string.IsNullOrWhiteSpace(directory) || directory.Contains('\0')))
        {
            throw new ArgumentException(
                $"The shared memory Directory '{directory.Replace("\0", "\\0")}' names no directory (it is empty, blank or holds a NUL character); leave it null for the default.",
                parameterName);
        }

        string resolved = directory ?? DefaultDirectory
            ?? throw new ArgumentException("This system has no /dev/shm: set a directory for shared memory blocks (and AllowNonMemoryFileSystem if it is not a memory file system).", parameterName);
        if (OperatingSystem.IsLinux() && !allowNonMemoryFileSystem && System.IO.Directory.Exists(resolved) && !SharedMemoryFiles.IsOnMemoryFileSystem(resolved))
        {
            throw new ArgumentException(
                $"The shared memory directory '{resolved}' is not a memory file system (tmpfs), so block contents (request data) would reach a disk. Use a tmpfs directory such as /dev/shm, or set AllowNonMemoryFileSystem to accept it.",
                parameterName);
        }

        return resolved;
    }

    [SupportedOSPlatform("windows")]
    private static SharedMemoryMapping OpenExistingWindows(string name)
    {
        MemoryMappedFile file;
        try
        {
            file = MemoryMappedFile.OpenExisting(name, MemoryMappedFileRights.ReadWrite);
        }
        catch (FileNotFoundException)
        {
            throw new FileNotFoundException($"No shared memory block named '{name}' exists.", name);
        }

        // Windows does not report a mapping's size; the view's capacity (whole pages) is the closest.
        return new SharedMemoryMapping(name, file, length: -1);
    }

    private static bool IsSafeName(string name)
    {
        foreach (char c in name)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_')
            {
                return false;
            }
        }

        return true;
    }

    private bool ReserveBudget(long mappedLength)
    {
        if (_maxBytes == 0)
        {
            Interlocked.Add(ref _mappedBytes, mappedLength);
            return true;
        }

        // Never past MaxBytes, not even for an instant: adding first and backing out would refuse, meanwhile, other
        // requests that fit.
        long current = Volatile.Read(ref _mappedBytes);
        while (true)
        {
            if (mappedLength > _maxBytes - current)
            {
                return false;
            }

            long seen = Interlocked.CompareExchange(ref _mappedBytes, current + mappedLength, current);
            if (seen == current)
            {
                return true;
            }

            current = seen;
        }
    }

    private SlabProviderStatus Map(long mappedLength, out MappedBlock? block)
    {
        block = null;
        for (int attempt = 0; attempt < NameAttempts; attempt++)
        {
            // Process id and counter make names unique within a run; the random part keeps a new process from
            // colliding with files a crashed one with the same id left behind.
            string name = $"{_namePrefix}-{Environment.ProcessId}-{Interlocked.Increment(ref s_lastBlock)}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";
            try
            {
                block = OperatingSystem.IsWindows() ? MapWindows(name, mappedLength) : MapFile(name, mappedLength);
                if (block is not null)
                {
                    return SlabProviderStatus.Success;
                }

                // A sweep removed the new file before it was held; try another name.
            }
            catch (IOException ex) when (!OperatingSystem.IsWindows() && (ex.HResult == SharedMemoryFiles.EWouldBlock || File.Exists(Path.Combine(_directory!, name))))
            {
                // Someone owns that name already, or a sweep holds the new file to remove it; try another.
            }
            catch (Exception ex) when (ex is DirectoryNotFoundException or UnauthorizedAccessException or PathTooLongException)
            {
                return SlabProviderStatus.Failure;
            }
            catch (Exception ex) when (ex is IOException or OutOfMemoryException)
            {
                // No space left in the memory file system, too many mappings, no address space: resources.
                return SlabProviderStatus.Resources;
            }
        }

        return SlabProviderStatus.Failure;
    }

    [SupportedOSPlatform("windows")]
    private MappedBlock MapWindows(string name, long mappedLength)
    {
        MemoryMappedFile file = MemoryMappedFile.CreateNew(name, mappedLength, MemoryMappedFileAccess.ReadWrite);
        return MappedBlock.Create(this, name, path: null, file, mappedLength);
    }

    // Null when the new file lost its name to a sweep before this process held it.
    private MappedBlock? MapFile(string name, long mappedLength)
    {
        string path = Path.Combine(_directory!, name);
        var streamOptions = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,

            // Every page is reserved now (fallocate): a sparse file would fail on first touch, with a fatal fault
            // rather than an error, once the memory file system is full. When the space is not there, the file is
            // removed and an IOException reports it.
            PreallocationSize = mappedLength,
        };
        if (!OperatingSystem.IsWindows())
        {
            // The block may hold request data: only this user may map it.
            streamOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        var stream = new FileStream(path, streamOptions);
        MemoryMappedFile? file = null;
        try
        {
            // The directory was checked when the provider was created; this catches it being swapped since.
            if (OperatingSystem.IsLinux() && !_allowNonMemoryFileSystem && !SharedMemoryFiles.IsOnMemoryFileSystem(stream.SafeFileHandle))
            {
                throw new UnauthorizedAccessException($"'{path}' is not on a memory file system.");
            }

            // The lock is what tells a sweep that the block is alive, whatever its name's pid says. FileStream takes
            // one too, but not when file locking is switched off, so it is taken here either way.
            if (OperatingSystem.IsLinux() && !SharedMemoryFiles.TryHoldBlockFile(stream.SafeFileHandle))
            {
                stream.Dispose();
                DeleteIfThere(path);
                return null;
            }

            file = MemoryMappedFile.CreateFromFile(stream, null, mappedLength, MemoryMappedFileAccess.ReadWrite, HandleInheritability.None, leaveOpen: false);
            return MappedBlock.Create(this, name, path, file, mappedLength);
        }
        catch
        {
            if (file is null)
            {
                stream.Dispose();
            }
            else
            {
                file.Dispose();
            }

            File.Delete(path);
            throw;
        }
    }

    // The sweep that took the file may have removed it already, or be about to.
    private static void DeleteIfThere(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    // Everything one block holds: the mapping, the view and its pointer, and (off Windows) the backing file.
    private sealed class MappedBlock : IDisposable
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private readonly string? _path;
        private int _freed;

        private MappedBlock(MemoryMappedSharedMemoryProvider provider, string name, string? path, MemoryMappedFile file, MemoryMappedViewAccessor view, byte* pointer, long length)
        {
            Length = length;
            Provider = provider;
            Name = name;
            _path = path;
            _file = file;
            _view = view;
            Pointer = pointer;
        }

        public MemoryMappedSharedMemoryProvider Provider { get; }

        public string Name { get; }

        public byte* Pointer { get; }

        // The mapping's length, alignment padding included.
        public long Length { get; }

        // The one handle that may free the block.
        public SharedMemoryHandle? Handle { get; set; }

        public bool TryMarkFreed() => Interlocked.Exchange(ref _freed, 1) == 0;

        public static MappedBlock Create(MemoryMappedSharedMemoryProvider provider, string name, string? path, MemoryMappedFile file, long length)
        {
            MemoryMappedViewAccessor? view = null;
            try
            {
                view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
                byte* pointer = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                return new MappedBlock(provider, name, path, file, view, pointer + view.PointerOffset, length);
            }
            catch
            {
                view?.Dispose();
                file.Dispose();
                if (path is not null)
                {
                    File.Delete(path);
                }

                throw;
            }
        }

        public void Dispose()
        {
            _view.SafeMemoryMappedViewHandle.ReleasePointer();
            _view.Dispose();
            _file.Dispose();
            if (_path is not null)
            {
                try
                {
                    File.Delete(_path);
                }
                catch (Exception)
                {
                    // The mapping is gone from this process either way. A file someone removed is theirs; one the
                    // directory refuses to let go (EPERM, EACCES, a read-only mount) is left for a later sweep.
                }
            }
        }
    }
}
