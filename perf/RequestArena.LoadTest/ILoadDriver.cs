namespace RequestArena.LoadTest;

/// <summary>Puts load on one URL until the duration or the request cap is reached, whichever comes first.</summary>
internal interface ILoadDriver
{
    string Name { get; }

    Task<DriverResult> RunAsync(Uri url, string method, byte[] body, int connections, TimeSpan duration, long maxRequests);
}
