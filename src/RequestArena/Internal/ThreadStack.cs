using System.Runtime.InteropServices;

namespace RequestArena;

// The calling thread's stack range, from the operating system. The arena uses it as a thread identity that needs
// no thread-local lookup: the stacks of live threads never overlap, so "the address of a local lies in thread T's
// stack range" is true on thread T and on no other live thread. Read once per thread, then cached.
internal static unsafe class ThreadStack
{
    [ThreadStatic]
    private static bool t_known;

    [ThreadStatic]
    private static nuint t_low;

    [ThreadStatic]
    private static nuint t_size;

    private static readonly Native s_native = Native.Load();

    // Low address and size of the current thread's stack; (0, 0) where the platform does not tell.
    public static (nuint Low, nuint Size) Current()
    {
        if (!t_known)
        {
            (t_low, t_size) = s_native.Query();
            t_known = true;
        }

        return (t_low, t_size);
    }

    private sealed class Native
    {
        private delegate* unmanaged<nint> _pthreadSelf;
        private delegate* unmanaged<nint, byte*, int> _getAttr;
        private delegate* unmanaged<byte*, nint*, nuint*, int> _getStack;
        private delegate* unmanaged<byte*, int> _destroyAttr;
        private delegate* unmanaged<nint, nint> _macStackAddr;
        private delegate* unmanaged<nint, nuint> _macStackSize;
        private delegate* unmanaged<nuint*, nuint*, void> _winLimits;

        public static Native Load()
        {
            var native = new Native();
            try
            {
                if (OperatingSystem.IsWindows() && NativeLibrary.TryLoad("kernel32.dll", out nint kernel32)
                    && NativeLibrary.TryGetExport(kernel32, "GetCurrentThreadStackLimits", out nint limits))
                {
                    native._winLimits = (delegate* unmanaged<nuint*, nuint*, void>)limits;
                }
                else if (OperatingSystem.IsMacOS() && NativeLibrary.TryLoad("/usr/lib/libSystem.dylib", out nint system)
                    && NativeLibrary.TryGetExport(system, "pthread_self", out nint self)
                    && NativeLibrary.TryGetExport(system, "pthread_get_stackaddr_np", out nint addr)
                    && NativeLibrary.TryGetExport(system, "pthread_get_stacksize_np", out nint size))
                {
                    native._pthreadSelf = (delegate* unmanaged<nint>)self;
                    native._macStackAddr = (delegate* unmanaged<nint, nint>)addr;
                    native._macStackSize = (delegate* unmanaged<nint, nuint>)size;
                }
                else if (OperatingSystem.IsLinux() && TryLoadLibc(out nint libc)
                    && NativeLibrary.TryGetExport(libc, "pthread_self", out nint self2)
                    && NativeLibrary.TryGetExport(libc, "pthread_getattr_np", out nint getAttr)
                    && NativeLibrary.TryGetExport(libc, "pthread_attr_getstack", out nint getStack)
                    && NativeLibrary.TryGetExport(libc, "pthread_attr_destroy", out nint destroy))
                {
                    native._pthreadSelf = (delegate* unmanaged<nint>)self2;
                    native._getAttr = (delegate* unmanaged<nint, byte*, int>)getAttr;
                    native._getStack = (delegate* unmanaged<byte*, nint*, nuint*, int>)getStack;
                    native._destroyAttr = (delegate* unmanaged<byte*, int>)destroy;
                }
            }
            catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException or BadImageFormatException)
            {
                // No stack range: arenas fall back to a thread-local lookup, which is slower but equally safe.
            }

            return native;
        }

        public (nuint, nuint) Query()
        {
            if (_winLimits != null)
            {
                nuint low, high;
                _winLimits(&low, &high);
                return high > low ? (low, high - low) : (0, 0);
            }

            if (_macStackAddr != null)
            {
                nint self = _pthreadSelf();
                nuint high = (nuint)_macStackAddr(self);
                nuint size = _macStackSize(self);
                return high > size ? (high - size, size) : (0, 0);
            }

            if (_getAttr != null)
            {
                // pthread_attr_t is 56 bytes on glibc x64 and 64 on arm64; leave generous room.
                byte* attr = stackalloc byte[256];
                if (_getAttr(_pthreadSelf(), attr) != 0)
                {
                    return (0, 0);
                }

                nint address;
                nuint size;
                int result = _getStack(attr, &address, &size);
                _destroyAttr(attr);
                return result == 0 && address != 0 && size != 0 ? ((nuint)address, size) : (0, 0);
            }

            return (0, 0);
        }

        private static bool TryLoadLibc(out nint handle) =>
            NativeLibrary.TryLoad("libc.so.6", out handle)
            || NativeLibrary.TryLoad("libc.musl-x86_64.so.1", out handle)
            || NativeLibrary.TryLoad("libc.musl-aarch64.so.1", out handle)
            || NativeLibrary.TryLoad("libc", out handle);
    }
}
