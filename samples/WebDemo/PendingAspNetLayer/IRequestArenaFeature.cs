// Stand-in for branch `aspnet`; delete when merging it.
namespace RequestArena.AspNetCore;

public interface IRequestArenaFeature
{
    IModuleAllocator Allocator { get; }
}
