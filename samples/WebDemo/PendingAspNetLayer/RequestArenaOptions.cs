// Stand-in for branch `aspnet` (CONTRACT.md names) so the demo builds and runs before that branch lands.
// Delete this folder when merging `aspnet`.
namespace RequestArena.AspNetCore;

public sealed class RequestArenaOptions
{
    public long MaxBytesPerRequest { get; set; }
    public int SlabSize { get; set; }
    public bool ZeroMemory { get; set; } = true;
    public int LimitExceededStatusCode { get; set; } = 503;
}
