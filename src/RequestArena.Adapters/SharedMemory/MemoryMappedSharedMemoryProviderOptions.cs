namespace RequestArena.Adapters;

/// <summary>Options for a <see cref="MemoryMappedSharedMemoryProvider"/>.</summary>
public sealed class MemoryMappedSharedMemoryProviderOptions
{
    /// <summary>
    /// Where the backing files of the mappings live on Linux and macOS, where named mappings do not exist; another
    /// process opens a block by its name in this directory. Default
    /// <see cref="MemoryMappedSharedMemoryProvider.DefaultDirectory"/> (<c>/dev/shm</c> when present, so the bytes
    /// never reach a disk); a system without <c>/dev/shm</c> must set one. An empty or blank string is refused (null
    /// takes the default). Ignored on Windows, which has named mappings.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>
    /// Accept a <see cref="Directory"/> that is not a memory file system (tmpfs). Off by default: blocks hold request
    /// data, which should not reach a disk, and a disk-backed directory is rarely what was meant. Checked on Linux only.
    /// </summary>
    public bool AllowNonMemoryFileSystem { get; set; }

    /// <summary>
    /// The start of every block's name; letters, digits, '-' and '_' only, at most 215 of them (the rest of a block's
    /// name must fit a file name). Default <c>requestarena</c>.
    /// </summary>
    public string NamePrefix { get; set; } = "requestarena";

    /// <summary>
    /// The most bytes the provider maps at once, counting the padding a mapping takes to reach an alignment above the
    /// page size; an allocation beyond it fails with
    /// <see cref="SlabProviderStatus.Resources"/>. 0 (the default) means no limit of its own; the memory file system's
    /// size still is one (a full one fails the same way).
    /// </summary>
    public long MaxBytes { get; set; }
}
