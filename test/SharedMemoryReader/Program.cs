using RequestArena.Adapters;

// Usage: SharedMemoryReader <name> <offset> <count> [directory]
// Maps the shared memory block <name> the way any other process would and prints <count> bytes from <offset> as
// lower-case hex on one line. Exit code 2 for bad arguments, 3 when the block does not exist.
if (args.Length is < 3 or > 4 || !long.TryParse(args[1], out long offset) || !int.TryParse(args[2], out int count))
{
    Console.Error.WriteLine("usage: SharedMemoryReader <name> <offset> <count> [directory]");
    return 2;
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
