using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace WebDemo;

/// <summary>
/// Validation of the demo's query parameters. They bind as strings so that every bad value, empty or repeated ones
/// included, gets a 400 problem saying which parameter and why, rather than the framework's bare 400.
/// </summary>
internal static class QueryParameters
{
    public static bool TryParseCount(string? text, string name, int min, int max, int defaultValue, out int value, [NotNullWhen(false)] out ValidationProblem? problem)
    {
        value = defaultValue;
        problem = null;
        if (text is null
            || (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max))
        {
            return true;
        }

        problem = Invalid(name, $"'{name}' must be an integer from {min} to {max}; it was '{text}'.");
        return false;
    }

    public static bool TryParseMode(string? text, ReadOnlySpan<AllocMode> allowed, out AllocMode mode, [NotNullWhen(false)] out ValidationProblem? problem)
    {
        problem = null;
        if (AllocModes.TryParse(text, allowed, out mode))
        {
            return true;
        }

        problem = Invalid("alloc", $"'alloc' must be one of {AllocModes.Spellings(allowed)}; it was '{text}'.");
        return false;
    }

    private static ValidationProblem Invalid(string name, string message) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [name] = [message] }, detail: message, title: $"Invalid '{name}'");
}
