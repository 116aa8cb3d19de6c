namespace WebDemo;

/// <summary>The <c>Demo</c> configuration section.</summary>
public sealed class DemoOptions
{
    /// <summary>Largest body <c>/api/transform</c> accepts; larger gets 413. Default 1 MiB.</summary>
    public long TransformMaxBodyBytes { get; set; } = 1024 * 1024;

    /// <summary>The arena quota per request (RequestArenaOptions.MaxBytesPerRequest); 0 = unlimited.</summary>
    public long ArenaMaxBytesPerRequest { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// The middleware's DetectUseAfterRelease (default true). Off, arena memory is array-backed: cheaper to read
    /// through, but it no longer fails after its request. For measuring what the check costs.
    /// </summary>
    public bool ArenaDetectUseAfterRelease { get; set; } = true;

    /// <summary>Most threads <c>/api/adapters/rpc</c> runs at once; more requests get 503. Default 4.</summary>
    public int RpcMaxThreads { get; set; } = 4;
}
