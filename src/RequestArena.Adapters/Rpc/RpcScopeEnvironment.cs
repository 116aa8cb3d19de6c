using System.Diagnostics.CodeAnalysis;
using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RequestArena.Adapters;

/// <summary>
/// One RPC stub memory-management environment: the object an <c>RPC_SS_THREAD_HANDLE</c> refers to. Memory
/// allocated in it lives until the environment is released, all at once; <see cref="Free"/> only marks a block
/// (as <c>RpcSmFree</c> does) so that freeing it twice, or freeing memory from elsewhere, is caught.
/// </summary>
/// <remarks>
/// <para>
/// Most code uses the ambient functions of <see cref="RpcScopeAllocator"/> rather than this type directly. An
/// environment is established by <see cref="RpcScopeAllocator.EnableAllocate()"/> (released by
/// <see cref="RpcScopeAllocator.DisableAllocate"/>), inside an ASP.NET Core request by the request itself (released
/// when the request ends), or by the constructor over an allocator someone else owns.
/// </para>
/// <para>
/// Any number of threads sharing one environment may allocate and free at the same time: each thread carves its
/// own chunk of the environment's memory (so allocation takes no lock and no interlocked operation), and a free is
/// one compare-and-swap on the block's header. Every block is 8-byte aligned and carries an 8-byte header
/// (environment identity, length and state) in front of the bytes handed out; headers and unused chunk tails count
/// against the arena's quota, so a quota is reached a little sooner than the sum of the sizes asked for.
/// </para>
/// </remarks>
public sealed unsafe class RpcScopeEnvironment : IDisposable
{
    /// <summary>Bytes of bookkeeping in front of every block.</summary>
    public const int HeaderSize = 8;

    /// <summary>The largest block, in bytes, an environment hands out.</summary>
    public const int MaxBlockSize = int.MaxValue / 2;

    private const int FirstChunkSize = 1024;
    private const int MaxChunkSize = 32 * 1024;

    // Blocks up to this size are carved from chunks; larger ones are allocated on their own.
    private const int MaxChunkedBlock = MaxChunkSize / 4;

    // A live block's state word holds its length; freeing sets the top bit.
    private const int FreedBit = int.MinValue;

    private static int s_lastId;

    private readonly IModuleAllocator _allocator;
    private readonly Arena? _ownedArena;
    private readonly bool _knownPinned;
    private readonly int _id;
    private readonly Lock _lock = new();

    private RpcChunk[] _chunks = new RpcChunk[2];
    private readonly Func<Thread, RpcChunk> _newChunk;   // created once, so the slow path allocates no delegate
    private int _chunkCount;
    private int _nextChunkSize = FirstChunkSize;
    private int _released;
    private int _callsInFlight;   // frees and own-block allocations between their release check and their last write

    // Where blocks begin, so that Free takes exactly the memory Allocate returned: a slice inside a block whose bytes
    // happen to look like a header (an environment id and a length are small integers) is refused, not marked freed
    // with a write into live data. Chunk blocks carry a bit per 8 bytes, set by the owner thread as it carves a block;
    // blocks allocated on their own are kept by identity. Both live outside the memory handed out, where no caller
    // can write.
    private BlockRegion[] _regions = [];       // replaced whole under _lock, read without it
    private HashSet<(object Owner, int Index)>? _ownBlocks;   // under _lock

    /// <summary>
    /// Creates an environment over memory someone else owns (the way a server stub provides one for a call). It is
    /// released when <paramref name="allocator"/>'s owner ends it: an <see cref="Arena"/> releases the environment at
    /// <see cref="Arena.Reset"/> or <see cref="Arena.Dispose"/>; for any other allocator, dispose the environment when
    /// the allocator's pool ends. <see cref="RpcScopeAllocator.DisableAllocate"/> refuses such an environment.
    /// </summary>
    /// <param name="allocator">
    /// Where blocks come from. An allocator that is an <see cref="ICleanupRegistry"/> (an <see cref="Arena"/>, a
    /// request's arena) releases the environment before its memory is reclaimed.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="allocator"/> is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="allocator"/> is a disposed arena or an ended request's arena.</exception>
    public RpcScopeEnvironment(IModuleAllocator allocator)
        : this(allocator, ownedArena: null)
    {
        // Chunks keep raw addresses of the allocator's memory: the environment must be released before that memory can
        // serve anyone else. An allocator that cannot say when that happens hands out memory the environment owns.
        (allocator as ICleanupRegistry)?.RegisterForCleanup(this);
    }

    private RpcScopeEnvironment(IModuleAllocator allocator, Arena? ownedArena)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        _allocator = allocator;

        // Zero is what fresh memory holds, so it is never an identity.
        int id;
        do
        {
            id = Interlocked.Increment(ref s_lastId);
        }
        while (id == 0);
        _id = id;
        _newChunk = thread => new RpcChunk(this, _id, thread);

        // Arena memory never moves, and the environment is released before that memory is reclaimed (registered for
        // cleanup, or owning the arena), so a chunk's address can be kept.
        _knownPinned = allocator is IArenaAllocator;
        _ownedArena = ownedArena;
    }

    // What RpcScopeAllocator.EnableAllocate establishes: an environment that owns its arena and gives it back when
    // disabled. A factory rather than a constructor overload, which would win overload resolution for every Arena.
    internal static RpcScopeEnvironment CreateEnabled(Arena ownedArena) => new(ownedArena, ownedArena);

    /// <summary>
    /// True when <see cref="RpcScopeAllocator.EnableAllocate()"/> established the environment, so
    /// <see cref="RpcScopeAllocator.DisableAllocate"/> may release it.
    /// </summary>
    public bool IsEnabledByApplication => _ownedArena is not null;

    /// <summary>True once the environment has been released; it hands out nothing after that.</summary>
    public bool IsReleased => Volatile.Read(ref _released) != 0;

    /// <summary>Allocates <paramref name="size"/> bytes in this environment (<c>RpcSmAllocate</c> with this thread handle).</summary>
    /// <param name="size">Bytes wanted, from 0 to <see cref="MaxBlockSize"/>.</param>
    /// <param name="status">
    /// <see cref="RpcStatus.Ok"/>; <see cref="RpcStatus.OutOfMemory"/> when the quota or memory is exhausted;
    /// <see cref="RpcStatus.InvalidArg"/> for a bad size; <see cref="RpcStatus.NoEnvironment"/> once the
    /// environment has been released.
    /// </param>
    /// <returns>
    /// The memory (zeroed unless it comes from an arena told not to zero), or empty memory when
    /// <paramref name="status"/> is not Ok.
    /// </returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Memory<byte> Allocate(int size, out RpcStatus status)
    {
        RpcChunk? chunk = ThreadChunkSlot<RpcChunk>.Last;
        if (chunk is not null && chunk.Owner == this && TryBump(chunk, size, out Memory<byte> memory))
        {
            status = RpcStatus.Ok;
            return memory;
        }

        return AllocateSlow(size, null, out status, out _);
    }

    /// <summary>
    /// Frees a block of this environment (<c>RpcSmFree</c>). As in Windows the block is marked rather than given
    /// back on the spot: its bytes are reclaimed when the environment is released. Safe to call from any thread.
    /// </summary>
    /// <param name="memory">Exactly the memory <see cref="Allocate"/> returned.</param>
    /// <returns>
    /// <see cref="RpcStatus.Ok"/>; <see cref="RpcStatus.InvalidArg"/> when the memory is not a live block of this
    /// environment (already freed, from another environment or request, of another length, or not from an
    /// environment at all); <see cref="RpcStatus.NoEnvironment"/> once the environment has been released.
    /// </returns>
    public RpcStatus Free(Memory<byte> memory)
    {
        // Counted so that Dispose can wait for a free that is about to write a header before the memory goes back
        // to the pool; the full fence of the increment pairs with the one in Dispose.
        Interlocked.Increment(ref _callsInFlight);
        try
        {
            if (Volatile.Read(ref _released) != 0)
            {
                return RpcStatus.NoEnvironment;
            }

            return FreeCore(memory);
        }
        finally
        {
            Interlocked.Decrement(ref _callsInFlight);
        }
    }

    /// <summary>
    /// Releases the environment: every later allocation or free through it fails with
    /// <see cref="RpcStatus.NoEnvironment"/>. An environment established by
    /// <see cref="RpcScopeAllocator.EnableAllocate()"/> also gives all its memory back. Calling it again does nothing.
    /// </summary>
    /// <remarks>
    /// Safe while other threads are still allocating or freeing in the environment: a thread caught between its check
    /// and its header write finishes before this method returns, and every call after it fails. So when the
    /// environment's memory is reclaimed right after (as a request's arena does), no write lands in it.
    /// </remarks>
    public void Dispose()
    {
        RpcChunk[] chunks;
        int count;
        bool othersOwnChunks = false;
        Thread current = Thread.CurrentThread;
        lock (_lock)
        {
            if (Interlocked.Exchange(ref _released, 1) != 0)
            {
                return;
            }

            chunks = _chunks;
            count = _chunkCount;
            for (int i = 0; i < count; i++)
            {
                chunks[i].Kill();
                othersOwnChunks |= chunks[i].Thread != current;
            }

            _chunks = [];
            _chunkCount = 0;
        }

        // The owners' fast path marks itself Busy with a plain store before reading Limit, so that allocating costs no
        // interlocked instruction. The process-wide barrier makes the pair exact: after it, an owner either has its Busy
        // store visible here (and is waited for) or reads the Limit of 0 written above. The releasing thread's own chunk
        // is not in a call right now, so it alone needs no barrier.
        if (othersOwnChunks)
        {
            Interlocked.MemoryBarrierProcessWide();
        }

        SpinWait spin = default;
        for (int i = 0; i < count; i++)
        {
            while (Volatile.Read(ref chunks[i].Busy) != 0)
            {
                spin.SpinOnce();
            }

            chunks[i].Clear();
        }

        // A free or an own-block allocation that passed its check before the flag was set may still be writing a
        // header; wait for it.
        SpinWait wait = default;
        while (Volatile.Read(ref _callsInFlight) != 0)
        {
            wait.SpinOnce();
        }

        _ownedArena?.Dispose();
    }

    // The ambient fast path of RpcScopeAllocator.Allocate: the thread's last chunk, used only while the current flow
    // is the one that last resolved to the chunk's environment on this thread (execution context identity), so the
    // ambient lookup is skipped. Both reads are thread-local, so the chunk found is this thread's own.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static bool TryAllocateForFlow(int size, out Memory<byte> memory)
    {
        ExecutionContext? context = ExecutionContext.Capture();
        RpcChunk? chunk = ThreadChunkSlot<RpcChunk>.Last;

        // A suppressed flow (null) has no identity to match: a chunk without a flow may belong to any environment
        // (one carved by a direct Allocate, or by another flow's suppressed call), so only the ambient lookup decides.
        if (chunk is not null && context is not null && context == chunk.FlowContext && TryBump(chunk, size, out memory))
        {
            return true;
        }

        memory = default;
        return false;
    }

    // The ambient miss before the ambient lookup: the thread's previous chunk, with the same flow check. Serves a
    // thread alternating between two environments (or an environment and an arena's adapter).
    internal static bool TryAllocateForFlowFromThread(int size, out Memory<byte> memory)
    {
        RpcChunk? chunk = ThreadChunkSlot<RpcChunk>.Previous;
        if (chunk is not null)
        {
            ExecutionContext? context = ExecutionContext.Capture();
            if (context is not null && context == chunk.FlowContext && TryBump(chunk, size, out memory))
            {
                ThreadChunkSlot<RpcChunk>.Use(chunk);
                return true;
            }
        }

        memory = default;
        return false;
    }

    // The ambient slow path: the flow's environment is known; remember the flow on the chunk used. A suppressed flow
    // has none to remember, and finds the thread's chunk of this environment the way a direct Allocate does, so its
    // calls after the first take no lock.
    internal Memory<byte> AllocateForFlow(int size, out RpcStatus status)
    {
        ExecutionContext? context = ExecutionContext.Capture();
        return context is null ? Allocate(size, out status) : AllocateSlow(size, context, out status, out _);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static bool TryBump(RpcChunk chunk, int size, out Memory<byte> memory)
    {
        int offset = chunk.Offset;

        // Chunks only serve small blocks, so the rounding below cannot overflow; Limit is 0 once released.
        if ((uint)size <= MaxChunkedBlock)
        {
            int need = (size + (HeaderSize + 7)) & ~7;

            // Busy before Limit: a release that killed the chunk either sees Busy and waits for the writes below, or
            // this read sees its Limit of 0 (see Dispose).
            Volatile.Write(ref chunk.Busy, 1);
            if (need <= Volatile.Read(ref chunk.Limit) - offset)
            {
                chunk.Offset = offset + need;

                // The header: owner id, then size. (uint) so the offset needs no sign extension.
                byte* header = chunk.Base + (uint)offset;
                *(int*)header = chunk.OwnerId;
                *(int*)(header + 4) = size;
                chunk.Starts![(uint)offset >> 9] |= 1UL << (offset >> 3);
                memory = MemoryFactory.SliceInRange(chunk.Block, offset + HeaderSize, size);
                Volatile.Write(ref chunk.Busy, 0);
                return true;
            }

            Volatile.Write(ref chunk.Busy, 0);
        }

        memory = default;
        return false;
    }

    // chunk: the calling thread's chunk when the block came from it, else null.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private Memory<byte> AllocateSlow(int size, ExecutionContext? flowContext, out RpcStatus status, out RpcChunk? chunk)
    {
        chunk = null;
        if ((uint)size > MaxBlockSize)
        {
            return Failed(RpcStatus.InvalidArg, out status);
        }

        if (size > MaxChunkedBlock)
        {
            return AllocateOwnBlock(size, out status);
        }

        int need = (size + (HeaderSize + 7)) & ~7;
        Memory<byte> memory;
        lock (_lock)
        {
            if (_released != 0)
            {
                return Failed(RpcStatus.NoEnvironment, out status);
            }

            RpcChunk mine = ChunkForCurrentThreadLocked();
            if (flowContext is not null)
            {
                mine.FlowContext = flowContext;
            }

            if (need > mine.Limit - mine.Offset && !TryRefillLocked(mine, need))
            {
                // No room for a whole chunk under the quota: the block alone may still fit.
                return AllocateOwnBlock(size, out status);
            }

            TryBump(mine, size, out memory);
            chunk = mine;
        }

        status = RpcStatus.Ok;
        return memory;
    }

    // The calling thread's chunk of this environment, found by its Thread object (which no other live thread shares)
    // and made the thread's last chunk.
    private RpcChunk ChunkForCurrentThreadLocked()
    {
        RpcChunk? chunk = ThreadChunkSlot<RpcChunk>.Last;
        if (chunk is not null && chunk.Owner == this)
        {
            return chunk;
        }

        return ThreadChunkSlot<RpcChunk>.ForCurrentThread(ref _chunks, ref _chunkCount, _newChunk);
    }

    // Gives the chunk a fresh block of at least `need` bytes; false when the allocator refuses one.
    private bool TryRefillLocked(RpcChunk chunk, int need)
    {
        // Twice the block at least, so a block just under the chunked limit still leaves room for more.
        int length = Math.Max(_nextChunkSize, need * 2);
        if (ModuleAllocation.TryAllocate(_allocator, length + 7, out Memory<byte> block) != AllocationFailure.None)
        {
            return false;
        }

        byte* address;
        MemoryHandle pin = default;
        try
        {
            if (_knownPinned)
            {
                address = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(block.Span));
            }
            else
            {
                // Memory of unknown origin may move; pin it for as long as the chunk is carved. Nor is it known to be
                // zeroed: cleared whole here, so carving a block from it stays a bump.
                pin = block.Pin();
                address = (byte*)pin.Pointer;
                new Span<byte>(address, length + 7).Clear();
            }
        }
        catch (ObjectDisposedException)
        {
            return false;
        }

        // Headers take interlocked updates, so blocks start on 8-byte boundaries whatever the arena's alignment.
        int pad = (int)((8 - ((nint)address & 7)) & 7);
        Memory<byte> carved = block.Slice(pad, length);
        if (!TryGetIdentity(carved, out object? owner, out int index))
        {
            pin.Dispose();
            return false;
        }

        var starts = new ulong[(length + 511) >> 9];
        _regions = [.. _regions, new BlockRegion(owner, index, length, starts)];
        chunk.Starts = starts;
        chunk.Pin.Dispose();
        chunk.Pin = pin;
        chunk.Block = carved;
        chunk.Base = address + pad;
        chunk.Offset = 0;
        chunk.Limit = length;
        _nextChunkSize = Math.Min(_nextChunkSize * 2, MaxChunkSize);
        return true;
    }

    private Memory<byte> AllocateOwnBlock(int size, out RpcStatus status)
    {
        // Counted from before the release check to after the header write, so a release waits for the write.
        Interlocked.Increment(ref _callsInFlight);
        try
        {
            return AllocateOwnBlockCore(size, out status);
        }
        finally
        {
            Interlocked.Decrement(ref _callsInFlight);
        }
    }

    private Memory<byte> AllocateOwnBlockCore(int size, out RpcStatus status)
    {
        if (IsReleased)
        {
            return Failed(RpcStatus.NoEnvironment, out status);
        }

        // Seven spare bytes let the header sit on an 8-byte boundary whatever the allocator's alignment.
        AllocationFailure failure = ModuleAllocation.TryAllocate(_allocator, size + HeaderSize + 7, out Memory<byte> raw);
        if (failure != AllocationFailure.None)
        {
            return Failed(failure switch
            {
                AllocationFailure.Released => RpcStatus.NoEnvironment,
                AllocationFailure.InvalidSize => RpcStatus.InvalidArg,
                _ => RpcStatus.OutOfMemory,
            }, out status);
        }

        try
        {
            ref byte start = ref MemoryMarshal.GetReference(raw.Span);

            // Alignment modulo 8 survives the GC moving an array, so the address is only read for that.
            int pad = (int)((8 - ((nint)Unsafe.AsPointer(ref start) & 7)) & 7);
            ref byte header = ref Unsafe.Add(ref start, pad);
            Unsafe.WriteUnaligned(ref header, _id);
            Unsafe.WriteUnaligned(ref Unsafe.Add(ref header, 4), size);

            // An arena's memory arrives as its ZeroMemory says; any other allocator's may hold anything.
            if (!_knownPinned)
            {
                MemoryMarshal.CreateSpan(ref Unsafe.Add(ref header, HeaderSize), size).Clear();
            }

            Memory<byte> memory = raw.Slice(pad + HeaderSize, size);
            if (!TryGetIdentity(memory, out object? owner, out int index))
            {
                return Failed(RpcStatus.OutOfMemory, out status);
            }

            lock (_lock)
            {
                (_ownBlocks ??= []).Add((owner, index));
            }

            status = RpcStatus.Ok;
            return memory;
        }
        catch (ObjectDisposedException)
        {
            return Failed(RpcStatus.NoEnvironment, out status);
        }
    }

    private static Memory<byte> Failed(RpcStatus failure, out RpcStatus status)
    {
        status = failure;
        return default;
    }

    private RpcStatus FreeCore(Memory<byte> memory)
    {
        if (!TryGetIdentity(memory, out object? owner, out int index) || !IsBlockStart(owner, index))
        {
            return RpcStatus.InvalidArg;
        }

        // The bytes the memory views, from the identity found above: a memory manager's or an array's.
        Span<byte> whole;
        if (owner is byte[] array)
        {
            whole = array;
        }
        else
        {
            try
            {
                whole = ((MemoryManager<byte>)owner).GetSpan();
            }
            catch (ObjectDisposedException)
            {
                // Memory of an arena that has been released: not a live block of anything.
                return RpcStatus.InvalidArg;
            }
        }

        if (index < HeaderSize || index > whole.Length)
        {
            return RpcStatus.InvalidArg;
        }

        Span<byte> header = whole.Slice(index - HeaderSize, HeaderSize);
        ref byte first = ref MemoryMarshal.GetReference(header);
        ref int state = ref Unsafe.As<byte, int>(ref Unsafe.Add(ref first, 4));
        if (Unsafe.ReadUnaligned<int>(ref first) != _id || ((nint)Unsafe.AsPointer(ref state) & 3) != 0)
        {
            return RpcStatus.InvalidArg;
        }

        // One compare-and-swap decides between two threads freeing the same block, and checks the length too.
        int length = memory.Length;
        return Interlocked.CompareExchange(ref state, length | FreedBit, length) == length ? RpcStatus.Ok : RpcStatus.InvalidArg;
    }

    // Whether a block of this environment begins at `index` of `owner`'s memory (the index of its first byte after the
    // header), as Allocate returned it.
    private bool IsBlockStart(object owner, int index)
    {
        // Newest first: most frees are of recent blocks.
        int header = index - HeaderSize;
        BlockRegion[] regions = Volatile.Read(ref _regions);
        for (int i = regions.Length - 1; i >= 0; i--)
        {
            BlockRegion region = regions[i];
            int position = header - region.Index;
            if (ReferenceEquals(region.Owner, owner) && (uint)position < (uint)region.Length)
            {
                return (position & 7) == 0 && (Volatile.Read(ref region.Starts[position >> 9]) & (1UL << (position >> 3))) != 0;
            }
        }

        lock (_lock)
        {
            return _ownBlocks?.Contains((owner, index)) == true;
        }
    }

    // What a Memory<byte> is made of: the object it views (a memory manager or an array) and its index there.
    private static bool TryGetIdentity(Memory<byte> memory, [NotNullWhen(true)] out object? owner, out int index)
    {
        if (MemoryMarshal.TryGetMemoryManager<byte, MemoryManager<byte>>(memory, out MemoryManager<byte>? manager, out index, out _) && manager is not null)
        {
            owner = manager;
            return true;
        }

        if (MemoryMarshal.TryGetArray<byte>(memory, out ArraySegment<byte> segment) && segment.Array is not null)
        {
            owner = segment.Array;
            index = segment.Offset;
            return true;
        }

        owner = null;
        index = 0;
        return false;
    }

    // One chunk block of the environment: where it lies in its owner's memory and which of its 8-byte granules begin
    // a block.
    private sealed class BlockRegion(object owner, int index, int length, ulong[] starts)
    {
        public readonly object Owner = owner;
        public readonly int Index = index;
        public readonly int Length = length;
        public readonly ulong[] Starts = starts;
    }
}
