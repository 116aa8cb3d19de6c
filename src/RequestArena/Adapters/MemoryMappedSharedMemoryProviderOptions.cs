namespace RequestArena.Adapters;

/// <summary>Options for a <see cref="MemoryMappedSharedMemoryProvider"/>.</summary>
public sealed class MemoryMappedSharedMemoryProviderOptions
{
    /// <summary>
    /// Where the backing files of the mappings live on Linux and macOS, where named mappings do not exist; another
    /// process opens a block by its name in this directory. Default
    /// <see cref="MemoryMappedSharedMemoryProvider.DefaultDirectory"/> (<c>/dev/shm</c> when present, so the bytes
    /// never reach a disk). Ignored on Windows, which has named mappings.
    /// </summary>
    public string? Directory { get; set; }

    /// <summary>The start of every block's name; letters, digits, '-' and '_' only. Default <c>requestarena</c>.</summary>
    public string NamePrefix { get; set; } = "requestarena";

    /// <summary>
    /// The most bytes the provider maps at once; an allocation beyond it fails with
    /// <see cref="SlabProviderStatus.Resources"/>. 0 (the default) means no limit of its own.
    /// </summary>
    public long MaxBytes { get; set; }
}
