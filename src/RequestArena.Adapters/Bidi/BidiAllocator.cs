using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.InteropServices;
using System.Text;

namespace RequestArena.Adapters;

/// <summary>
/// A per-request allocator for strings and binary objects in the shape of the Windows bidi functions
/// <c>RouterAllocBidiMem</c> and <c>RouterFreeBidiMem</c>: every block can be freed on its own and its space is
/// reused within the request (size-class free lists); whatever is not freed is reclaimed when the request (the
/// underlying arena) ends.
/// </summary>
/// <remarks>
/// <para>
/// Failures do not throw: they return an empty <see cref="BidiBlock"/> (or false) and record a Win32 error code that
/// <see cref="GetLastError"/> reads, as <c>GetLastError</c> does after <c>RouterAllocBidiMem</c>. The code is kept
/// per asynchronous flow, never process-wide, so concurrent requests never see each other's errors.
/// </para>
/// <para>
/// Like <c>HttpContext</c>, one allocator serves one flow at a time: it may hop threads across awaits, but two threads
/// must not call it at the same moment. Keeping it unsynchronised is what lets an allocate/free pair cost about as
/// much as a plain arena allocation.
/// </para>
/// <para>
/// Over an allocator that is an <see cref="ICleanupRegistry"/> (an <see cref="Arena"/>, a request's arena) the
/// allocator registers itself for cleanup, so it is released before the memory goes back: kept past its request, it
/// refuses every call and writes nothing, even when the release runs on another thread at the same moment. Over any
/// other <see cref="IModuleAllocator"/> whoever owns the request disposes it.
/// </para>
/// </remarks>
public sealed unsafe class BidiAllocator : IDisposable
{
    /// <summary>The largest block, in bytes, the allocator hands out (1 GiB).</summary>
    public const int MaxBlockSize = BidiSizeClass.MaxSize;

    // Characters GetUtf8ByteCount counts at a time: at 3 bytes each, a chunk's count stays far below int.MaxValue.
    private const int Utf8CountChunkLength = 1 << 20;

    // One value per asynchronous flow: the equivalent of the per-thread last-error slot of Win32.
    private static readonly AsyncLocal<Win32Error> s_lastError = new();

    private readonly IModuleAllocator _allocator;
    private readonly bool _zero;
    private readonly bool _knownPinned;

    private Slot[] _slots = new Slot[16];
    private int _slotCount;

    // Per size class: index + 1 of the first free slot, 0 when the list is empty.
    private int[] _freeHeads = new int[BidiSizeClass.Count];

    // index + 1 of the slot freed last, held out of its free list (0: none). A free writes it without reading any
    // list and the next allocation of that class takes it back, so an allocate/free pair passes one value through
    // memory instead of a list head both ways: the round trips through the store buffer are what such a pair costs.
    private int _lastFreed;
    private ulong _lastStamp;
    private bool _disposed;
    private int _busy;   // 1 while a call is between its release check and its last use of the slots (see Dispose)

    /// <summary>Creates an allocator that takes its memory from <paramref name="allocator"/>.</summary>
    /// <param name="allocator">
    /// The request's allocator. An <see cref="ICleanupRegistry"/> (an <see cref="Arena"/>, a request's arena) releases
    /// this allocator before its memory is reclaimed; with any other allocator, dispose this one when the request ends.
    /// </param>
    /// <exception cref="ArgumentNullException"><paramref name="allocator"/> is null.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="allocator"/> is a disposed arena or an ended request's arena.</exception>
    public BidiAllocator(IModuleAllocator allocator)
    {
        ArgumentNullException.ThrowIfNull(allocator);
        _allocator = allocator;
        if (allocator is IArenaAllocator arena)
        {
            _zero = arena.ZeroMemory;

            // Arena memory never moves, and the registration below stops this allocator before the memory is reclaimed,
            // so a block's address can be cached for clearing.
            _knownPinned = true;
        }
        else
        {
            _zero = true;
        }

        // Slots keep raw addresses of the allocator's memory: the allocator must be released before that memory can
        // serve anyone else.
        (allocator as ICleanupRegistry)?.RegisterForCleanup(this);
    }

    /// <summary>Blocks handed out and not freed yet.</summary>
    /// <remarks>
    /// Counted on demand, in time proportional to <see cref="TotalBlocks"/>: a running counter would be one more
    /// read-modify-write of one field in both halves of every allocate/free pair, and such dependent memory round
    /// trips are most of what a pair costs.
    /// </remarks>
    public int LiveBlocks
    {
        get
        {
            int live = 0;
            foreach (ref readonly Slot slot in _slots.AsSpan(0, _slotCount))
            {
                // A slot is live exactly while it carries a stamp (never 0); Free sets it back to 0.
                if (slot.Stamp != 0)
                {
                    live++;
                }
            }

            return live;
        }
    }

    /// <summary>Blocks the allocator has taken from the request's memory so far (live or on a free list).</summary>
    public int TotalBlocks => _slotCount;

    /// <summary>True once the allocator has been released (its request or arena has ended, or it was disposed).</summary>
    public bool IsDisposed => _disposed;

    /// <summary>
    /// Reads the Win32 error code the last failing call on the current flow recorded (the <c>GetLastError</c> that
    /// follows <c>RouterAllocBidiMem</c> or <c>RouterFreeBidiMem</c>). Successful calls leave it unchanged, as in
    /// Win32, so read it right after the failure.
    /// </summary>
    /// <returns>The code; <see cref="Win32Error.Success"/> when nothing failed on this flow.</returns>
    public static Win32Error GetLastError() => s_lastError.Value;

    /// <summary>Sets the current flow's last-error code (<c>SetLastError</c>), for example to clear it before a call.</summary>
    /// <param name="error">The code.</param>
    public static void SetLastError(Win32Error error) => s_lastError.Value = error;

    /// <summary>
    /// Allocates <paramref name="size"/> bytes (<c>RouterAllocBidiMem</c>). A block of the same size class freed
    /// earlier in the request is reused; otherwise the block comes from the request's memory.
    /// </summary>
    /// <param name="size">Bytes wanted, from 1 to <see cref="MaxBlockSize"/>.</param>
    /// <returns>
    /// The block, zeroed unless it comes from an arena told not to zero; or an empty block when the allocation
    /// failed, with <see cref="GetLastError"/> returning <see cref="Win32Error.InvalidParameter"/> (bad size),
    /// <see cref="Win32Error.NotEnoughMemory"/> (quota or memory exhausted) or <see cref="Win32Error.InvalidHandle"/>
    /// (the allocator has been released).
    /// </returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public BidiBlock Allocate(int size)
    {
        // Busy before the release check, so a release on another thread either waits for the clear below or is seen
        // here (see Dispose). The slow path does its own check.
        Volatile.Write(ref _busy, 1);
        if ((uint)(size - 1) < MaxBlockSize && !Volatile.Read(ref _disposed))
        {
            int sizeClass = BidiSizeClass.IndexOf(size);
            Slot[] slots = _slots;
            int index = _lastFreed - 1;
            if ((uint)index < (uint)slots.Length && slots[index].SizeClass == sizeClass)
            {
                _lastFreed = 0;
            }
            else
            {
                int head = _freeHeads[sizeClass];
                if (head == 0)
                {
                    Volatile.Write(ref _busy, 0);
                    return AllocateSlow(size);
                }

                index = head - 1;
                _freeHeads[sizeClass] = slots[index].NextFree;
            }

            ref Slot slot = ref slots[index];
            ulong stamp = NextStamp();
            slot.Stamp = stamp;
            if (_zero)
            {
                ClearReused(ref slot, size);
            }

            Volatile.Write(ref _busy, 0);
            return new BidiBlock(this, index, stamp, MemoryFactory.SliceInRange(slot.Memory, 0, size));
        }

        Volatile.Write(ref _busy, 0);
        return AllocateSlow(size);
    }

    /// <summary>
    /// Frees a block (<c>RouterFreeBidiMem</c>) so a later allocation of the same size class in this request reuses
    /// its space.
    /// </summary>
    /// <param name="block">A block this allocator handed out.</param>
    /// <returns>
    /// True when the block was live and is now free. False, with <see cref="GetLastError"/> returning
    /// <see cref="Win32Error.InvalidParameter"/>, for an empty block, a block freed already, a block of another
    /// allocator (another request) or any block once the allocator has been released; nothing is changed then.
    /// </returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Free(BidiBlock block)
    {
        // Busy before the release check, as in Allocate: a release on another thread waits until this call is done
        // with the slot table before it empties the table, so a free racing it answers false instead of indexing a
        // table that has just been emptied.
        if (!TryEnterBusy())
        {
            return Fail(Win32Error.InvalidParameter);
        }

        int index = block.Slot;
        if (block.Owner == this && (uint)index < (uint)_slotCount)
        {
            Slot[] slots = _slots;
            ref Slot slot = ref slots[index];

            // Stamps are never 0 and never repeat within the allocator's life, so only the latest handle of a live
            // slot matches: a second free, or a handle kept from before the slot was reused, does not.
            if (slot.Stamp == block.Stamp && slot.Stamp != 0)
            {
                slot.Stamp = 0;
                int previous = _lastFreed;
                _lastFreed = index + 1;
                if (previous != 0)
                {
                    PushFree(slots, previous - 1);
                }

                ExitBusy();
                return true;
            }
        }

        ExitBusy();
        return Fail(Win32Error.InvalidParameter);
    }

    /// <summary>Allocates a NUL-terminated UTF-16 string (an <c>LPWSTR</c>) holding <paramref name="value"/>.</summary>
    /// <param name="value">The characters.</param>
    /// <returns>A block of <c>(value.Length + 1) * 2</c> bytes, or an empty block on failure as for <see cref="Allocate"/>.</returns>
    public BidiBlock AllocateUtf16String(ReadOnlySpan<char> value)
    {
        long size = ((long)value.Length + 1) * sizeof(char);
        if (size > MaxBlockSize)
        {
            return FailBlock(Win32Error.InvalidParameter);
        }

        return AllocateFilled((int)size, value, static (bytes, value) =>
        {
            MemoryMarshal.AsBytes(value).CopyTo(bytes);

            // Written even when the block is zeroed: the arena may have been told not to zero.
            MemoryMarshal.Cast<byte, char>(bytes)[value.Length] = '\0';
        });
    }

    /// <summary>Allocates a NUL-terminated UTF-8 string holding <paramref name="value"/>.</summary>
    /// <param name="value">The characters; lone surrogates become U+FFFD.</param>
    /// <returns>A block of the UTF-8 length plus one byte, or an empty block on failure as for <see cref="Allocate"/>.</returns>
    public BidiBlock AllocateUtf8String(ReadOnlySpan<char> value)
    {
        // UTF-8 needs at most 3 bytes per UTF-16 unit; only count exactly when that bound is over the limit.
        long size = (long)value.Length * 3 + 1;
        if (size > MaxBlockSize)
        {
            size = GetUtf8ByteCount(value) + 1;
            if (size > MaxBlockSize)
            {
                return FailBlock(Win32Error.InvalidParameter);
            }
        }
        else
        {
            size = Encoding.UTF8.GetByteCount(value) + 1;
        }

        return AllocateFilled((int)size, value, static (bytes, value) => bytes[Encoding.UTF8.GetBytes(value, bytes)] = 0);
    }

    // The UTF-8 length Encoding.UTF8 writes for `value` (a lone surrogate as the three bytes of U+FFFD), also when it
    // passes int.MaxValue, where Encoding.UTF8.GetByteCount throws. Counted a chunk at a time; an Encoder would not do,
    // as its GetByteCount leaves its state alone and so drops a high surrogate ending a chunk. Instead no chunk but the
    // last ends on a high surrogate, so a pair is always counted whole and a lone surrogate alone. chunkLength >= 2.
    internal static long GetUtf8ByteCount(ReadOnlySpan<char> value, int chunkLength = Utf8CountChunkLength)
    {
        long count = 0;
        while (value.Length > chunkLength)
        {
            int length = char.IsHighSurrogate(value[chunkLength - 1]) ? chunkLength - 1 : chunkLength;
            count += Encoding.UTF8.GetByteCount(value[..length]);
            value = value[length..];
        }

        return count + Encoding.UTF8.GetByteCount(value);
    }

    /// <summary>Allocates a binary object holding a copy of <paramref name="data"/>.</summary>
    /// <param name="data">The bytes; must not be empty.</param>
    /// <returns>A block of <c>data.Length</c> bytes, or an empty block on failure as for <see cref="Allocate"/>.</returns>
    public BidiBlock AllocateBlob(ReadOnlySpan<byte> data) =>
        AllocateFilled(data.Length, data, static (bytes, data) => data.CopyTo(bytes));

    // The caller's data goes into a block after Allocate has returned it, so the write takes the busy mark again: a
    // release racing the call either waits for the write (the block's memory is still the request's until the release
    // is over) or is seen here, and the call then fails as released, writing nothing.
    private BidiBlock AllocateFilled<TArg>(int size, TArg arg, SpanAction<byte, TArg> fill)
        where TArg : allows ref struct
    {
        BidiBlock block = Allocate(size);
        if (block.IsEmpty)
        {
            return block;
        }

        if (!TryEnterBusy())
        {
            return FailBlock(Win32Error.InvalidHandle);
        }

        try
        {
            fill(block.Span, arg);
        }
        finally
        {
            ExitBusy();
        }

        return block;
    }

    // The call's half of the handshake with Dispose: busy with a plain store, then the release check. False (and not
    // busy) when the allocator has been released; otherwise the caller ends its use of the slots or the memory with
    // ExitBusy, and a release on another thread waits for that.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private bool TryEnterBusy()
    {
        Volatile.Write(ref _busy, 1);
        if (!Volatile.Read(ref _disposed))
        {
            return true;
        }

        Volatile.Write(ref _busy, 0);
        return false;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ExitBusy() => Volatile.Write(ref _busy, 0);

    /// <summary>
    /// Releases the allocator: every block, live or free, becomes invalid for <see cref="Free"/> and every later
    /// allocation fails with <see cref="Win32Error.InvalidHandle"/>. The bytes themselves go back with the request's
    /// arena. Calling it again does nothing.
    /// </summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        Volatile.Write(ref _disposed, true);

        // A kept allocator may be in a call on another thread right now. Allocate (its fast path, and its slow path
        // once it has new memory), Free and the data copies mark themselves busy with a plain store before reading
        // _disposed, so that a call costs no interlocked instruction; the process-wide barrier makes the pair exact:
        // after it, that call either has its busy mark visible here (and is waited for) or reads _disposed as true.
        // The memory goes back only after this returns.
        Interlocked.MemoryBarrierProcessWide();
        SpinWait spin = default;
        while (Volatile.Read(ref _busy) != 0)
        {
            spin.SpinOnce();
        }

        if (!_knownPinned)
        {
            for (int i = 0; i < _slotCount; i++)
            {
                _slots[i].Pin.Dispose();
            }
        }

        // The empty table and free lists drop every reference to the request's memory; a later Free sees _disposed,
        // and a later allocation goes to the slow path, which sees it too.
        _slots = [];
        _slotCount = 0;
        _lastFreed = 0;
        _freeHeads = new int[BidiSizeClass.Count];
    }

    // The slot the last free held out goes onto its class's list when another free takes its place.
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PushFree(Slot[] slots, int index)
    {
        ref Slot slot = ref slots[index];
        slot.NextFree = _freeHeads[slot.SizeClass];
        _freeHeads[slot.SizeClass] = index + 1;
    }

    // 64 bits, so stamps never wrap (a 32-bit counter did after 2^32 allocations, and a kept handle then matched a live
    // block again); the first is 1.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ulong NextStamp() => ++_lastStamp;

    // Lets a test reach stamps a real allocator would take billions of allocations to reach.
    internal void SkipStampsTo(ulong last) => _lastStamp = last;

    private static void ClearReused(ref Slot slot, int size)
    {
        if (slot.Address != 0)
        {
            // Blocks of the small classes (16 to 64 bytes) are cleared whole with two vector stores, which costs less
            // than a call to the general clear; the block is the slot's own, so clearing past `size` is harmless.
            int length = slot.Memory.Length;
            if (length <= 64 && length >= 16 && Vector128.IsHardwareAccelerated)
            {
                ref byte first = ref *(byte*)slot.Address;
                if (length >= 32 && Vector256.IsHardwareAccelerated)
                {
                    Vector256<byte>.Zero.StoreUnsafe(ref first);
                    Vector256<byte>.Zero.StoreUnsafe(ref first, (nuint)(length - 32));
                }
                else
                {
                    Vector128<byte>.Zero.StoreUnsafe(ref first);
                    Vector128<byte>.Zero.StoreUnsafe(ref first, (nuint)(length - 16));
                    if (length > 32)
                    {
                        Vector128<byte>.Zero.StoreUnsafe(ref first, 16);
                        Vector128<byte>.Zero.StoreUnsafe(ref first, 32);
                    }
                }

                return;
            }

            new Span<byte>((void*)slot.Address, size).Clear();
        }
        else
        {
            slot.Memory.Span[..size].Clear();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private BidiBlock AllocateSlow(int size)
    {
        if ((uint)(size - 1) >= MaxBlockSize)
        {
            return FailBlock(Win32Error.InvalidParameter);
        }

        if (_disposed)
        {
            return FailBlock(Win32Error.InvalidHandle);
        }

        int sizeClass = BidiSizeClass.IndexOf(size);
        AllocationFailure failure = ModuleAllocation.TryAllocate(_allocator, BidiSizeClass.SizeOf(sizeClass), out Memory<byte> memory);
        if (failure != AllocationFailure.None)
        {
            return FailBlock(failure switch
            {
                AllocationFailure.Released => Win32Error.InvalidHandle,
                AllocationFailure.InvalidSize => Win32Error.InvalidParameter,
                _ => Win32Error.NotEnoughMemory,
            });
        }

        // Busy from here to the new slot, as in Allocate, but not across the call above: a release running on this
        // thread inside that call (a cleanup of the arena's own) must not wait for this thread. A release on another
        // thread either waits for the slot (and unpins it with the others) or is seen here, before anything is pinned.
        if (!TryEnterBusy())
        {
            return FailBlock(Win32Error.InvalidHandle);
        }

        try
        {
            return AddSlot(memory, size, sizeClass);
        }
        finally
        {
            ExitBusy();
        }
    }

    private BidiBlock AddSlot(Memory<byte> memory, int size, int sizeClass)
    {
        nint address;
        MemoryHandle pin = default;
        try
        {
            if (_knownPinned)
            {
                address = (nint)Unsafe.AsPointer(ref MemoryMarshal.GetReference(memory.Span));
            }
            else
            {
                // Memory of unknown origin may move; pin it once so reuse can clear it through a stable address.
                pin = memory.Pin();
                address = (nint)pin.Pointer;
            }
        }
        catch (ObjectDisposedException)
        {
            // The request ended on another thread since the allocation above.
            return FailBlock(Win32Error.InvalidHandle);
        }

        // An arena's memory arrives as its ZeroMemory says; any other allocator's may hold anything.
        if (!_knownPinned)
        {
            new Span<byte>((void*)address, size).Clear();
        }

        if (_slotCount == _slots.Length)
        {
            Array.Resize(ref _slots, Math.Max(16, _slots.Length * 2));
        }

        int index = _slotCount++;
        ref Slot slot = ref _slots[index];
        slot.Memory = memory;
        slot.SizeClass = sizeClass;
        slot.NextFree = 0;
        slot.Pin = pin;
        slot.Address = address;

        ulong stamp = NextStamp();
        slot.Stamp = stamp;
        return new BidiBlock(this, index, stamp, memory.Slice(0, size));
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static bool Fail(Win32Error error)
    {
        s_lastError.Value = error;
        return false;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static BidiBlock FailBlock(Win32Error error)
    {
        s_lastError.Value = error;
        return default;
    }

    private struct Slot
    {
        public Memory<byte> Memory;   // the whole size-class block
        public nint Address;          // its first byte, for clearing on reuse
        public MemoryHandle Pin;      // only for memory not known to be pinned
        public ulong Stamp;           // the live handle's stamp; 0 while the slot is free
        public int NextFree;          // next free slot of the same class, index + 1
        public int SizeClass;
    }
}
