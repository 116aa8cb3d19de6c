namespace RequestArena.Adapters;

// Why an allocation from the underlying allocator did not succeed. The adapters report failures as status codes,
// so the exceptions of IModuleAllocator are turned into this once, here.
internal enum AllocationFailure
{
    None,
    Quota,
    OutOfMemory,
    InvalidSize,
    Released,
}

internal static class ModuleAllocation
{
    // The slow path shared by the adapters. An arena allocator is asked with TryAllocateMemory so a quota breach costs
    // no exception; any other IModuleAllocator can only say so by throwing.
    public static AllocationFailure TryAllocate(IModuleAllocator allocator, int size, out Memory<byte> memory)
    {
        try
        {
            if (allocator is IArenaAllocator arena)
            {
                return arena.TryAllocateMemory(size, out memory) ? AllocationFailure.None : AllocationFailure.Quota;
            }

            memory = allocator.AllocateMemory(size);
            return memory.Length == size ? AllocationFailure.None : AllocationFailure.OutOfMemory;
        }
        catch (ArenaLimitExceededException)
        {
            memory = default;
            return AllocationFailure.Quota;
        }
        catch (ObjectDisposedException)
        {
            memory = default;
            return AllocationFailure.Released;
        }
        catch (InvalidOperationException)
        {
            // A per-request handle whose request is over says so with InvalidOperationException.
            memory = default;
            return AllocationFailure.Released;
        }
        catch (ArgumentOutOfRangeException)
        {
            memory = default;
            return AllocationFailure.InvalidSize;
        }
        catch (Exception ex) when (ex is InsufficientMemoryException or OutOfMemoryException)
        {
            memory = default;
            return AllocationFailure.OutOfMemory;
        }
    }
}
