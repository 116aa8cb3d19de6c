using RequestArena;
using RequestArena.Adapters;

// Usage:
//   SharedMemoryReader <name> <offset> <count> [directory]
//     Maps the shared memory block <name> the way any other process would and prints <count> bytes from <offset> as
//     lower-case hex on one line. Exit code 2 for bad arguments, 3 when the block does not exist, 4 when the block
//     is refused (a symlink, a file of another user, a directory that is not a memory file system).
//   SharedMemoryReader --fill <directory> <prefix> <slab-size>
//     Fills a small memory file system with arena slabs until the provider refuses one, then checks the arena and
//     its pool still work; prints one "key=value" line per finding. A crash here is the failure being tested for.
//   SharedMemoryReader --abandon <directory> <prefix> <slab-size> <slabs>
//     Maps <slabs> slabs and exits without freeing them, as a process that dies does.
if (args.Length > 0 && args[0] == "--fill")
{
    return args.Length == 4 && int.TryParse(args[3], out int slabSize) ? Fill(args[1], args[2], slabSize) : Usage();
}

if (args.Length > 0 && args[0] == "--abandon")
{
    return args.Length == 5 && int.TryParse(args[3], out int slabSize) && int.TryParse(args[4], out int slabs)
        ? Abandon(args[1], args[2], slabSize, slabs)
        : Usage();
}

if (args.Length is < 3 or > 4 || !long.TryParse(args[1], out long offset) || !int.TryParse(args[2], out int count))
{
    return Usage();
}

try
{
    using SharedMemoryMapping mapping = MemoryMappedSharedMemoryProvider.OpenExisting(args[0], args.Length == 4 ? args[3] : null);
    Console.WriteLine(Convert.ToHexStringLower(mapping.GetSpan(offset, count)));
    return 0;
}
catch (FileNotFoundException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 3;
}
catch (UnauthorizedAccessException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 4;
}

static int Usage()
{
    Console.Error.WriteLine("usage: SharedMemoryReader <name> <offset> <count> [directory]");
    Console.Error.WriteLine("       SharedMemoryReader --fill <directory> <prefix> <slab-size>");
    Console.Error.WriteLine("       SharedMemoryReader --abandon <directory> <prefix> <slab-size> <slabs>");
    return 2;
}

static int Fill(string directory, string prefix, int slabSize)
{
    var shared = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = directory, NamePrefix = prefix });
    var slabs = new SharedMemorySlabProvider(shared);
    using var pool = new SlabPool(new SlabPoolOptions { SlabSize = slabSize, MaxRetainedBytes = 0, Provider = slabs, TrimInterval = Timeout.InfiniteTimeSpan });
    using var arena = new Arena(pool);

    // Each allocation takes most of a slab, so every one needs a slab of its own; each is written to the end.
    int big = slabSize - slabSize / 8;
    int granted = 0;
    string refusal = "none";
    for (int i = 0; i < 8; i++)
    {
        try
        {
            arena.AllocateMemory(big).Span.Fill((byte)(i + 1));
            granted++;
        }
        catch (InsufficientMemoryException ex)
        {
            refusal = ex.GetType().Name + ": " + ex.Message;
            break;
        }
    }

    Console.WriteLine($"granted={granted}");
    Console.WriteLine($"refusal={refusal}");
    Console.WriteLine($"blocks-after-refusal={shared.BlocksInUse}");
    Console.WriteLine($"files-after-refusal={Directory.GetFiles(directory, prefix + "-*").Length}");

    // The provider itself reports the status, without a file left behind.
    SlabProviderStatus status = shared.AllocateSharedMemory(null, new SharedMemoryParameters(slabSize), out SharedMemoryHandle? handle);
    Console.WriteLine($"provider-status={status}");
    Console.WriteLine($"provider-handle={(handle is null ? "null" : handle.Name)}");
    Console.WriteLine($"files-after-provider-refusal={Directory.GetFiles(directory, prefix + "-*").Length}");

    // The arena stays usable: a small allocation fits in the last slab, and after a reset the slabs come back.
    Memory<byte> small = arena.AllocateMemory(64);
    small.Span.Fill(0xAB);
    Console.WriteLine($"small-after-refusal={small.Length}:{small.Span.IndexOfAnyExcept((byte)0xAB)}");
    arena.Reset();
    Console.WriteLine($"files-after-reset={Directory.GetFiles(directory, prefix + "-*").Length}");
    Memory<byte> again = arena.AllocateMemory(big);
    Console.WriteLine($"after-reset={again.Length}:{again.Span.IndexOfAnyExcept((byte)0)}");
    arena.Reset();
    pool.Trim();
    Console.WriteLine($"files-at-end={Directory.GetFiles(directory, prefix + "-*").Length}");
    return 0;
}

static int Abandon(string directory, string prefix, int slabSize, int count)
{
    var shared = new MemoryMappedSharedMemoryProvider(new MemoryMappedSharedMemoryProviderOptions { Directory = directory, NamePrefix = prefix });
    for (int i = 0; i < count; i++)
    {
        if (shared.AllocateSharedMemory(null, new SharedMemoryParameters(slabSize), out SharedMemoryHandle? handle) != SlabProviderStatus.Success)
        {
            return 1;
        }

        handle!.GetSpan().Fill(1);
    }

    Console.WriteLine(Environment.ProcessId);
    return 0;
}
