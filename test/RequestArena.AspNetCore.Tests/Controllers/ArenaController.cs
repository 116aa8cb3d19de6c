using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace RequestArena.AspNetCore.Tests;

/// <summary>An MVC controller that takes the arena through its constructor and through [FromServices].</summary>
[ApiController]
[Route("mvc")]
[RequestArena(MaxBytes = 4096)]
public sealed class ArenaController(IModuleAllocator injected) : ControllerBase
{
    [HttpGet("same")]
    public ActionResult<bool> Same([FromServices] IModuleAllocator fromServices)
    {
        IModuleAllocator viaContext = HttpContext.GetRequestArena();
        IModuleAllocator viaFeature = HttpContext.Features.Get<IRequestArenaFeature>()!.Allocator;
        HttpContext.RequestServices.GetRequiredService<Probe>().Allocators.Enqueue(injected);
        return ReferenceEquals(injected, fromServices) && ReferenceEquals(injected, viaContext) && ReferenceEquals(injected, viaFeature);
    }

    // The class-level [RequestArena(MaxBytes = 4096)] applies.
    [HttpGet("class-limit/{bytes:int}")]
    public ActionResult<int> ClassLimit(int bytes) => injected.AllocateMemory(bytes).Length;

    // The action-level attribute is closer to the endpoint and wins over the class-level one.
    [HttpGet("action-limit/{bytes:int}")]
    [RequestArena(MaxBytes = 100_000)]
    public ActionResult<int> ActionLimit(int bytes) => injected.AllocateMemory(bytes).Length;
}

/// <summary>A controller without constructor injection, so disabled actions can still be constructed.</summary>
[ApiController]
[Route("mvc-disabled")]
[RequestArena(MaxBytes = 1024)]
public sealed class DisabledArenaController : ControllerBase
{
    [HttpGet("action")]
    [DisableRequestArena]
    public ActionResult<string> DisabledAction() => TryGetArena(HttpContext);

    [HttpGet("limited")]
    public ActionResult<string> Limited() => TryGetArena(HttpContext);

    internal static string TryGetArena(HttpContext context)
    {
        try
        {
            return context.GetRequestArena().AllocateMemory(16).Length == 16 ? "arena" : "wrong length";
        }
        catch (InvalidOperationException ex)
        {
            return ex.Message;
        }
    }
}

/// <summary>Disabled for the whole controller, with a limit on an action: disable still wins.</summary>
[ApiController]
[Route("mvc-class-disabled")]
[DisableRequestArena]
public sealed class ClassDisabledArenaController : ControllerBase
{
    [HttpGet]
    [RequestArena(MaxBytes = 1024)]
    public ActionResult<string> Get() => DisabledArenaController.TryGetArena(HttpContext);
}
