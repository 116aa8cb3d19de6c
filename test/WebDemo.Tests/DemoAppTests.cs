using Microsoft.AspNetCore.Builder;

namespace WebDemo.Tests;

public sealed class DemoAppTests
{
    [Fact]
    public async Task Create_NoUrlsConfigured_ListensOnDefaultLoopbackPort()
    {
        if (Environment.GetEnvironmentVariable("ASPNETCORE_URLS") is { Length: > 0 } || Environment.GetEnvironmentVariable("DOTNET_URLS") is { Length: > 0 })
        {
            // The environment legitimately overrides the default; the override test below still runs.
            return;
        }

        await using WebApplication app = DemoApp.Create([]);

        Assert.Equal(DemoApp.DefaultUrl, app.Configuration["urls"]);
    }

    [Fact]
    public async Task Create_UrlsSwitch_OverridesDefault()
    {
        await using WebApplication app = DemoApp.Create(["--urls", "http://127.0.0.1:5999"]);

        Assert.Equal("http://127.0.0.1:5999", app.Configuration["urls"]);
    }

    [Theory]
    [InlineData("Demo:RpcMaxThreads", "0")]
    [InlineData("Demo:RpcMaxThreads", "65")]
    [InlineData("Demo:TransformMaxBodyBytes", "0")]
    [InlineData("Demo:TransformMaxBodyBytes", "-1")]
    public async Task Start_DemoOptionOutOfRange_FailsNamingIt(string key, string value)
    {
        await using WebApplication app = DemoApp.Create(["--urls", "http://127.0.0.1:0", $"--{key}={value}"]);

        var error = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(() => app.StartAsync());
        Assert.Contains(key, error.Message);
    }

    [Fact]
    public void AsciiUpper_EveryByteValue_OnlyLowercaseAsciiChanges()
    {
        // Long enough for the vector loop and its scalar tail, at every alignment of the values.
        byte[] input = Enumerable.Range(0, 256 * 3 + 7).Select(i => (byte)i).ToArray();
        byte[] output = (byte[])input.Clone();

        AsciiUpper.InPlace(output);

        for (int i = 0; i < input.Length; i++)
        {
            byte expected = input[i] is >= (byte)'a' and <= (byte)'z' ? (byte)(input[i] - 32) : input[i];
            Assert.Equal(expected, output[i]);
        }
    }
}
