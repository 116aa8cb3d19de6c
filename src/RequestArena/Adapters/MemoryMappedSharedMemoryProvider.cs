using System.IO.MemoryMappedFiles;
using System.Runtime.Versioning;
using System.Security.Cryptography;

namespace RequestArena.Adapters;

/// <summary>
/// An <see cref="ISharedMemoryProvider"/> on operating-system shared memory: every block is its own memory-mapped
/// object with a unique name, so another process can map the same bytes with <see cref="OpenExisting"/>.
/// </summary>
/// <remarks>
/// On Windows a block is a named, page-file backed mapping. Named mappings do not exist elsewhere, so on Linux and
/// macOS a block is a file created in <see cref="Directory"/> (on Linux <c>/dev/shm</c>, a memory file system) and
/// mapped with <see cref="MemoryMappedFile.CreateFromFile(FileStream, string?, long, MemoryMappedFileAccess, HandleInheritability, bool)"/>;
/// the file is readable and writable by its owner only, and is deleted when the block is freed. Mappings other
/// processes still hold stay valid until they close them.
/// </remarks>
public sealed unsafe class MemoryMappedSharedMemoryProvider : ISharedMemoryProvider
{
    private const int MaxAlignment = 1 << 20;
    private const int NameAttempts = 4;

    private static long s_lastBlock;

    private readonly string? _directory;
    private readonly string _namePrefix;
    private readonly long _maxBytes;
    private long _bytesInUse;
    private int _blocksInUse;

    /// <summary>Creates a provider.</summary>
    /// <param name="options">The options; null takes the defaults.</param>
    /// <exception cref="ArgumentException">The name prefix holds characters other than letters, digits, '-' and '_'.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><see cref="MemoryMappedSharedMemoryProviderOptions.MaxBytes"/> is negative.</exception>
    public MemoryMappedSharedMemoryProvider(MemoryMappedSharedMemoryProviderOptions? options = null)
    {
        options ??= new MemoryMappedSharedMemoryProviderOptions();
        if (string.IsNullOrEmpty(options.NamePrefix) || !IsSafeName(options.NamePrefix))
        {
            throw new ArgumentException("NamePrefix must be non-empty and hold only letters, digits, '-' and '_'.", nameof(options));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxBytes, nameof(options.MaxBytes));
        _namePrefix = options.NamePrefix;
        _maxBytes = options.MaxBytes;
        _directory = OperatingSystem.IsWindows() ? null : options.Directory ?? DefaultDirectory;
    }

    /// <summary>
    /// Where backing files live when the system has no named mappings: <c>/dev/shm</c> when it exists, otherwise
    /// the temporary directory. Null on Windows.
    /// </summary>
    public static string? DefaultDirectory =>
        OperatingSystem.IsWindows() ? null : System.IO.Directory.Exists("/dev/shm") ? "/dev/shm" : Path.GetTempPath();

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
    /// <param name="name">The block's <see cref="SharedMemoryHandle.Name"/>.</param>
    /// <param name="directory">Where the backing files live (Linux and macOS); null takes <see cref="DefaultDirectory"/>.</param>
    /// <returns>The mapping; dispose it when done.</returns>
    /// <exception cref="ArgumentException"><paramref name="name"/> is empty or holds characters a block name never has.</exception>
    /// <exception cref="FileNotFoundException">No block of that name exists.</exception>
    public static SharedMemoryMapping OpenExisting(string name, string? directory = null)
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

        string path = Path.Combine(directory ?? DefaultDirectory!, name);
        var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
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

        if (!ReserveBudget(length))
        {
            return SlabProviderStatus.Resources;
        }

        SlabProviderStatus status;
        try
        {
            status = Map(mappedLength, out MappedBlock? block);
            if (status == SlabProviderStatus.Success)
            {
                byte* start = block!.Pointer;
                long offset = (long)((((nuint)start + (nuint)(alignment - 1)) & ~(nuint)(alignment - 1)) - (nuint)start);
                handle = new SharedMemoryHandle(block.Name, (nint)(start + offset), length, offset, block);
                Interlocked.Increment(ref _blocksInUse);
                return SlabProviderStatus.Success;
            }
        }
        catch (Exception)
        {
            status = SlabProviderStatus.Failure;
        }

        Interlocked.Add(ref _bytesInUse, -length);
        return status;
    }

    /// <inheritdoc />
    public SlabProviderStatus FreeSharedMemory(object? providerContext, SharedMemoryHandle handle)
    {
        if (handle?.ProviderState is not MappedBlock block || block.Provider != this || !handle.TryMarkFreed())
        {
            return SlabProviderStatus.InvalidParameter;
        }

        block.Dispose();
        Interlocked.Add(ref _bytesInUse, -handle.Length);
        Interlocked.Decrement(ref _blocksInUse);
        return SlabProviderStatus.Success;
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

    private bool ReserveBudget(int length)
    {
        long after = Interlocked.Add(ref _bytesInUse, length);
        if (_maxBytes > 0 && after > _maxBytes)
        {
            Interlocked.Add(ref _bytesInUse, -length);
            return false;
        }

        return true;
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
                return SlabProviderStatus.Success;
            }
            catch (IOException) when (!OperatingSystem.IsWindows() && File.Exists(Path.Combine(_directory!, name)))
            {
                // Someone owns that name already; try another.
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

    private MappedBlock MapFile(string name, long mappedLength)
    {
        string path = Path.Combine(_directory!, name);
        var streamOptions = new FileStreamOptions
        {
            Mode = FileMode.CreateNew,
            Access = FileAccess.ReadWrite,
            Share = FileShare.ReadWrite | FileShare.Delete,
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

    // Everything one block holds: the mapping, the view and its pointer, and (off Windows) the backing file.
    private sealed class MappedBlock : IDisposable
    {
        private readonly MemoryMappedFile _file;
        private readonly MemoryMappedViewAccessor _view;
        private readonly string? _path;

        private MappedBlock(MemoryMappedSharedMemoryProvider provider, string name, string? path, MemoryMappedFile file, MemoryMappedViewAccessor view, byte* pointer)
        {
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

        public static MappedBlock Create(MemoryMappedSharedMemoryProvider provider, string name, string? path, MemoryMappedFile file, long length)
        {
            MemoryMappedViewAccessor? view = null;
            try
            {
                view = file.CreateViewAccessor(0, length, MemoryMappedFileAccess.ReadWrite);
                byte* pointer = null;
                view.SafeMemoryMappedViewHandle.AcquirePointer(ref pointer);
                return new MappedBlock(provider, name, path, file, view, pointer + view.PointerOffset);
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
                catch (IOException)
                {
                    // The mapping is gone from this process either way; a file someone removed or locked is theirs.
                }
            }
        }
    }
}
