using System.Runtime.CompilerServices;

namespace RequestArena.AspNetCore.Adapters;

// The adapters hang off the request's Arena itself rather than off its IModuleAllocator handle: registered as
// cleanups of that arena, they are released exactly when its memory goes back to the pool (the end of the response,
// or at once when the endpoint fails), and never outlive the bytes they hand out.
//
// The handle rents its arena lazily in a private method that also refuses a request that has ended; it is reached
// here through UnsafeAccessor so the middleware's type keeps its surface. The adapter tests fail at once if that
// method is renamed; an internal accessor on RequestArenaAllocator would be the tidier way to do this.
internal static class RequestArenaAccess
{
    // Rents the request's arena if it has none yet (under the handle's lock) and returns it; throws
    // ObjectDisposedException once the request has ended or its endpoint failed.
    public static Arena GetOrRentArena(RequestArenaAllocator allocator) => RentArena(allocator);

    [UnsafeAccessor(UnsafeAccessorKind.Method, Name = "RentArena")]
    private static extern Arena RentArena(RequestArenaAllocator allocator);
}
