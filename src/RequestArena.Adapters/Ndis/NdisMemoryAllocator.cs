using System.Buffers;
using System.Runtime.InteropServices;

namespace RequestArena.Adapters;

/// <summary>
/// Per-request memory in the shape of the NDIS functions <c>NdisAllocateMemory</c> and <c>NdisFreeMemory</c>:
/// status results instead of exceptions, memory flags that choose the kind of memory, and a highest acceptable
/// address. Everything still allocated is freed when the request (the underlying arena) ends.
/// </summary>
/// <remarks>
/// <para>
/// Results use <see cref="SlabProviderStatus"/>, the library's NDIS status vocabulary:
/// <see cref="SlabProviderStatus.Success"/> is <c>NDIS_STATUS_SUCCESS</c> and <see cref="SlabProviderStatus.Failure"/>
/// is <c>NDIS_STATUS_FAILURE</c>. A failed call changes nothing: no memory is taken and nothing is left behind.
/// </para>
/// <para>
/// <see cref="NdisMemoryFlags.None"/> blocks come from the request's arena. <see cref="NdisMemoryFlags.NonCached"/> and
/// <see cref="NdisMemoryFlags.Contiguous"/> blocks are native memory, and so is any block with a highest acceptable
/// address: a user-mode process has no physical addresses, so the limit is applied to the block's virtual address,
/// and only memory that can be handed straight back can be refused when it lands above the limit.
/// </para>
/// <para>All members are safe to call from several threads at once.</para>
/// </remarks>
public sealed unsafe class NdisMemoryAllocator : IDisposable
{
    /// <summary>The <c>HighestAcceptableAddress</c> that accepts any address (-1).</summary>
    public const long AnyAddress = -1;

    /// <summary>The alignment of <see cref="NdisMemoryFlags.NonCached"/> blocks: one cache line.</summary>
    public const int CacheLineSize = 64;

    private readonly IModuleAllocator _allocator;
    private readonly int _maxContiguousLength;
    private readonly long _maxNativeBytes;
    private readonly bool _sourceZeroes;
    private readonly Lock _lock = new();
    private readonly Dictionary<nint, Block> _blocks = [];
    private long _nativeBytes;
    private bool _disposed;

    /// <summary>Creates an allocator over the request's memory.</summary>
    /// <param name="allocator">
    /// Where <see cref="NdisMemoryFlags.None"/> blocks come from. An <see cref="ICleanupRegistry"/> (an
    /// <see cref="Arena"/>, a request's arena) releases this allocator, and frees its native blocks, before its memory
    /// is reclaimed; with any other allocator, dispose this one when the request ends.
    /// </param>
    /// <param name="options">The options; null takes the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="allocator"/> is null.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An option is negative or zero where it must be positive.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="allocator"/> is a disposed arena.</exception>
    public NdisMemoryAllocator(IModuleAllocator allocator, NdisMemoryAllocatorOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        options ??= new NdisMemoryAllocatorOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(options.MaxContiguousLength, nameof(options.MaxContiguousLength));
        ArgumentOutOfRangeException.ThrowIfNegative(options.MaxNativeBytes, nameof(options.MaxNativeBytes));
        _allocator = allocator;
        _maxContiguousLength = options.MaxContiguousLength;
        _maxNativeBytes = options.MaxNativeBytes;

        // Only an arena says whether its memory arrives zeroed; any other allocator's may hold anything.
        _sourceZeroes = allocator is IArenaAllocator { ZeroMemory: true };
        (allocator as ICleanupRegistry)?.RegisterForCleanup(this);
    }

    /// <summary>Blocks handed out and not freed yet.</summary>
    public int BlocksInUse
    {
        get
        {
            lock (_lock)
            {
                return _blocks.Count;
            }
        }
    }

    /// <summary>Bytes of native blocks held now.</summary>
    public long NativeBytesInUse => Volatile.Read(ref _nativeBytes);

    /// <summary>True once the allocator has been released with its request, or disposed.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposed);

    /// <summary>Allocates a block (<c>NdisAllocateMemory</c>).</summary>
    /// <param name="memory">The block, zeroed; empty when the call fails.</param>
    /// <param name="length">Bytes wanted; at least 1.</param>
    /// <param name="flags">
    /// <see cref="NdisMemoryFlags.None"/> for arena memory, or any combination of <see cref="NdisMemoryFlags.NonCached"/>
    /// and <see cref="NdisMemoryFlags.Contiguous"/>.
    /// </param>
    /// <param name="highestAcceptableAddress">
    /// <see cref="AnyAddress"/> (-1) for any address; otherwise the block's last byte must lie at or below this
    /// address, or the call fails.
    /// </param>
    /// <returns>
    /// <see cref="SlabProviderStatus.Success"/> (<c>NDIS_STATUS_SUCCESS</c>), or <see cref="SlabProviderStatus.Failure"/>
    /// (<c>NDIS_STATUS_FAILURE</c>) when the length, flags or address limit is invalid, a contiguous block is longer
    /// than <see cref="NdisMemoryAllocatorOptions.MaxContiguousLength"/>, the block would lie above the limit, the quota
    /// or memory is exhausted, or the allocator has been released. The document's advice applies: after a failure,
    /// try one or more smaller blocks (<see cref="AllocateMemoryInBlocks"/> does that).
    /// </returns>
    public SlabProviderStatus AllocateMemory(out Memory<byte> memory, int length, NdisMemoryFlags flags, long highestAcceptableAddress = AnyAddress)
    {
        memory = default;
        if (length <= 0 || (flags & ~(NdisMemoryFlags.Contiguous | NdisMemoryFlags.NonCached)) != 0 || highestAcceptableAddress < AnyAddress)
        {
            return SlabProviderStatus.Failure;
        }

        lock (_lock)
        {
            if (_disposed)
            {
                return SlabProviderStatus.Failure;
            }

            return flags == NdisMemoryFlags.None && highestAcceptableAddress == AnyAddress
                ? AllocateFromArenaLocked(out memory, length)
                : AllocateNativeLocked(out memory, length, flags, highestAcceptableAddress);
        }
    }

    /// <summary>
    /// Frees a block (<c>NdisFreeMemory</c>). Native blocks go back at once and any <see cref="Memory{T}"/> still
    /// pointing at them throws <see cref="ObjectDisposedException"/>; arena blocks are reclaimed with the request.
    /// </summary>
    /// <param name="memory">Exactly the memory <see cref="AllocateMemory"/> returned (its length is the block's length).</param>
    /// <param name="flags">The flags the block was allocated with.</param>
    /// <returns>
    /// <see cref="SlabProviderStatus.Success"/>, or <see cref="SlabProviderStatus.InvalidParameter"/> when the memory is
    /// not a live block of this allocator (freed already, from elsewhere, of another length), the flags differ from
    /// the allocation's, or the allocator has been released. Nothing is changed then.
    /// </returns>
    public SlabProviderStatus FreeMemory(Memory<byte> memory, NdisMemoryFlags flags)
    {
        if (memory.IsEmpty || !TryGetAddress(memory, out nint address))
        {
            return SlabProviderStatus.InvalidParameter;
        }

        lock (_lock)
        {
            if (_disposed || !_blocks.TryGetValue(address, out Block? block) || block.Length != memory.Length || block.Flags != flags)
            {
                return SlabProviderStatus.InvalidParameter;
            }

            _blocks.Remove(address);
            Release(block);
            return SlabProviderStatus.Success;
        }
    }

    /// <summary>
    /// Allocates <paramref name="length"/> bytes as one or more blocks, following the advice of the
    /// <c>NdisAllocateMemory</c> documentation: when a block cannot be had, try smaller ones. It asks for the whole
    /// length first and halves the block length after each failure, down to <paramref name="minimumBlockLength"/>.
    /// Blocks from the request's arena (<see cref="NdisMemoryFlags.None"/>, any address) are the exception: a refusal of
    /// the whole length is final, because arena memory goes back only with the request, so smaller blocks taken before
    /// a later refusal would stay charged to the request's quota after the call failed.
    /// </summary>
    /// <param name="length">Total bytes wanted; at least 1.</param>
    /// <param name="flags">The flags for every block.</param>
    /// <param name="minimumBlockLength">The shortest block worth having; from 1 to <paramref name="length"/>.</param>
    /// <param name="blocks">The blocks in the order they were allocated, covering exactly
    /// <paramref name="length"/> bytes; empty when the call fails.</param>
    /// <param name="highestAcceptableAddress">As for <see cref="AllocateMemory"/>.</param>
    /// <returns>
    /// <see cref="SlabProviderStatus.Success"/>, or <see cref="SlabProviderStatus.Failure"/> when even blocks of
    /// <paramref name="minimumBlockLength"/> cannot be had (or an argument is invalid); every block taken so far is
    /// freed again before it returns.
    /// </returns>
    public SlabProviderStatus AllocateMemoryInBlocks(int length, NdisMemoryFlags flags, int minimumBlockLength, out Memory<byte>[] blocks, long highestAcceptableAddress = AnyAddress)
    {
        blocks = [];
        if (length <= 0 || minimumBlockLength <= 0 || minimumBlockLength > length)
        {
            return SlabProviderStatus.Failure;
        }

        bool arenaBlocks = flags == NdisMemoryFlags.None && highestAcceptableAddress == AnyAddress;
        List<Memory<byte>> taken = [];
        int remaining = length;
        int blockLength = length;
        while (remaining > 0)
        {
            int want = Math.Min(blockLength, remaining);
            if (AllocateMemory(out Memory<byte> block, want, flags, highestAcceptableAddress) == SlabProviderStatus.Success)
            {
                taken.Add(block);
                remaining -= want;
                continue;
            }

            if (want <= minimumBlockLength || arenaBlocks)
            {
                foreach (Memory<byte> memory in taken)
                {
                    FreeMemory(memory, flags);
                }

                return SlabProviderStatus.Failure;
            }

            blockLength = Math.Max(minimumBlockLength, want / 2);
        }

        blocks = [.. taken];
        return SlabProviderStatus.Success;
    }

    /// <summary>
    /// Frees every native block and makes the allocator refuse further calls. Arena blocks go back with the arena.
    /// Calling it again does nothing.
    /// </summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed)
            {
                return;
            }

            Volatile.Write(ref _disposed, true);
            foreach (Block block in _blocks.Values)
            {
                Release(block);
            }

            _blocks.Clear();
        }
    }

    private SlabProviderStatus AllocateFromArenaLocked(out Memory<byte> memory, int length)
    {
        // Native blocks count against the arena's quota as well, so an arena block must leave room for those held
        // now; the arena alone would only count its own bytes, and a request that took native blocks first could
        // then hold up to twice its quota.
        if (_nativeBytes > 0 && _allocator is IQuotaSource arena && arena.MaxBytes is > 0 and long quota
            && arena.AllocatedBytes + _nativeBytes + length > quota)
        {
            memory = default;
            return SlabProviderStatus.Failure;
        }

        if (ModuleAllocation.TryAllocate(_allocator, length, out memory) != AllocationFailure.None)
        {
            memory = default;
            return SlabProviderStatus.Failure;
        }

        // Arena memory is pinned, so pinning costs nothing and gives the address the block is tracked by; memory
        // of any other allocator stays pinned until it is freed, so the address stays true.
        MemoryHandle pin;
        try
        {
            pin = memory.Pin();
        }
        catch (ObjectDisposedException)
        {
            memory = default;
            return SlabProviderStatus.Failure;
        }

        // NdisAllocateMemory hands out zeroed memory whatever the request's arena was told.
        if (!_sourceZeroes)
        {
            NativeMemory.Clear(pin.Pointer, (nuint)length);
        }

        nint address = (nint)pin.Pointer;
        _blocks[address] = new Block(length, NdisMemoryFlags.None, native: null, pin);
        return SlabProviderStatus.Success;
    }

    private SlabProviderStatus AllocateNativeLocked(out Memory<byte> memory, int length, NdisMemoryFlags flags, long highestAcceptableAddress)
    {
        memory = default;
        bool contiguous = (flags & NdisMemoryFlags.Contiguous) != 0;
        if ((contiguous && length > _maxContiguousLength) || !NativeQuotaAllows(length))
        {
            return SlabProviderStatus.Failure;
        }

        // Native blocks are memory the request holds, bounded with the arena's own (Arena.HeldBytes).
        IQuotaSource? quota = _allocator as IQuotaSource;
        if (quota is not null && !quota.TryChargeHeld(length))
        {
            return SlabProviderStatus.Failure;
        }

        int alignment = contiguous ? Environment.SystemPageSize
            : (flags & NdisMemoryFlags.NonCached) != 0 ? CacheLineSize
            : sizeof(long) * 2;
        byte* pointer;
        try
        {
            pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, (nuint)alignment);
        }
        catch (OutOfMemoryException)
        {
            quota?.ReleaseHeld(length);
            return SlabProviderStatus.Failure;
        }

        if (highestAcceptableAddress != AnyAddress && (ulong)pointer + (ulong)length - 1 > (ulong)highestAcceptableAddress)
        {
            NativeMemory.AlignedFree(pointer);
            quota?.ReleaseHeld(length);
            return SlabProviderStatus.Failure;
        }

        // The request's memory reads as zero whatever it is made of.
        NativeMemory.Clear(pointer, (nuint)length);
        var native = new NativeMemoryBlock(pointer, length);
        _blocks[(nint)pointer] = new Block(length, flags, native, default);
        Interlocked.Add(ref _nativeBytes, length);
        memory = native.Memory;
        return SlabProviderStatus.Success;
    }

    private bool NativeQuotaAllows(int length)
    {
        long native = _nativeBytes + length;
        if (_maxNativeBytes > 0 && native > _maxNativeBytes)
        {
            return false;
        }

        if (_allocator is IQuotaSource arena)
        {
            long quota = arena.MaxBytes;
            return quota == 0 || arena.AllocatedBytes + native <= quota;
        }

        return true;
    }

    private void Release(Block block)
    {
        if (block.Native is { } native)
        {
            Interlocked.Add(ref _nativeBytes, -block.Length);
            native.Free();
            (_allocator as IQuotaSource)?.ReleaseHeld(block.Length);
        }
        else
        {
            block.Pin.Dispose();
        }
    }

    private static bool TryGetAddress(Memory<byte> memory, out nint address)
    {
        try
        {
            using MemoryHandle pin = memory.Pin();
            address = (nint)pin.Pointer;
            return true;
        }
        catch (ObjectDisposedException)
        {
            // Memory of a block freed already, or of a request that has ended.
            address = 0;
            return false;
        }
    }

    private sealed class Block(int length, NdisMemoryFlags flags, NativeMemoryBlock? native, MemoryHandle pin)
    {
        public readonly int Length = length;
        public readonly NdisMemoryFlags Flags = flags;
        public readonly NativeMemoryBlock? Native = native;
        public MemoryHandle Pin = pin;
    }
}
