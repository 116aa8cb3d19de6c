namespace WebDemo.Tests;

// The demo's OpenTelemetry pipeline listens to every meter of its names in the process, other demos' as well, and one
// stream serves all the same-named instruments: when any demo holding such an instrument is disposed, the stream stops
// for every demo, and their measurements are dropped from then on. Tests that read the exports therefore run while no
// other demo is started or disposed.
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class TelemetryCollection
{
    public const string Name = "Telemetry";
}
