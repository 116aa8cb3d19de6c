using Microsoft.AspNetCore.Builder;
using RequestArena.LoadTest.Soak;
using Xunit.Abstractions;

namespace RequestArena.AspNetCore.Tests.Reliability;

/// <summary>
/// The short fault soak: the load test's <c>--soak</c> mix and checks (client aborts mid-body, handler exceptions,
/// RequestTimeouts, quota breaches, slow streams, 5% each) at 10k requests against Kestrel on 127.0.0.1 in this process.
/// </summary>
[Collection(ReliabilityCollection.Name)]
public sealed class FaultSoakTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Soak_TenThousandMixedRequests_ReturnsEverySlab()
    {
        int seed = ReliabilitySeed.Get(20261122);
        var settings = new SoakSettings
        {
            Requests = 10_000,
            Concurrency = 16,
            Seed = seed,
            MaxDuration = TimeSpan.FromSeconds(50),
        };

        await using WebApplication app = await SoakApp.StartAsync(settings);
        SoakResult result = await new SoakRunner(SoakApp.AddressOf(app), settings, output.WriteLine).RunAsync();

        string report = result.Format();
        output.WriteLine(report);
        Assert.True(result.Passed, $"{ReliabilitySeed.Replay(seed)}\n{report}");
        Assert.Equal(23, result.Checks.Count);
    }
}
