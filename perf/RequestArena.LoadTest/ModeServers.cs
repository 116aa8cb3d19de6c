namespace RequestArena.LoadTest;

/// <summary>
/// The WebDemo processes under load: by default one per mode, started on first use, so each mode runs in a process of
/// its own as an application that uses one kind of buffer would. In one shared process the modes' handlers share call
/// sites that the JIT specialises by profile for whichever allocator it saw most, and one mode's garbage sizes the GC
/// heap the next mode runs in; neither happens in an application of one mode. <c>--shared-server</c> puts every mode
/// in one process instead.
/// </summary>
internal sealed class ModeServers(string appPath, bool shared) : IAsyncDisposable
{
    private readonly Dictionary<string, AppUnderTest> _servers = new(StringComparer.Ordinal);

    /// <summary>The process that serves <paramref name="mode"/>, started now if it is not running yet.</summary>
    public async Task<AppUnderTest> ForAsync(string mode)
    {
        string key = shared ? string.Empty : mode;
        if (!_servers.TryGetValue(key, out AppUnderTest? server))
        {
            server = await AppUnderTest.StartAsync(appPath);
            Console.Error.WriteLine(shared ? $"WebDemo on {server.BaseAddress}, every mode" : $"WebDemo on {server.BaseAddress}, mode {mode}");
            _servers.Add(key, server);
        }

        return server;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (AppUnderTest server in _servers.Values)
        {
            await server.DisposeAsync();
        }

        _servers.Clear();
    }
}
