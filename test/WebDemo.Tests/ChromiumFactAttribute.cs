namespace WebDemo.Tests;

/// <summary>A fact that is skipped, saying why, only when the Chromium binary is missing.</summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    public const string ChromiumPath = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ChromiumPath))
        {
            Skip = $"{ChromiumPath} not found: install the Debian package with `apt-get install -y chromium` (.ci/run does).";
        }
    }
}
