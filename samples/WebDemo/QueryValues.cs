using Microsoft.Extensions.Primitives;

namespace WebDemo;

/// <summary>Reads single query parameters without building <see cref="HttpRequest.Query"/>.</summary>
/// <remarks>
/// <see cref="HttpRequest.Query"/> allocates a collection and a string per key and value on every request; in a
/// demo whose point is per-request allocation that baseline would blur the difference between modes. Queries with
/// escapes ('%' or '+') take the standard parser so the meaning never differs from it.
/// </remarks>
internal static class QueryValues
{
    public static bool NeedsStandardParser(string? query) => query is not null && query.AsSpan().IndexOfAny('%', '+') >= 0;

    /// <summary>The raw value of the first <paramref name="name"/>; false when absent.</summary>
    public static bool TryGet(string? query, ReadOnlySpan<char> name, out ReadOnlySpan<char> value)
    {
        ReadOnlySpan<char> rest = query is null ? default : query.AsSpan().TrimStart('?');
        while (!rest.IsEmpty)
        {
            int amp = rest.IndexOf('&');
            ReadOnlySpan<char> pair = amp < 0 ? rest : rest[..amp];
            rest = amp < 0 ? default : rest[(amp + 1)..];
            int eq = pair.IndexOf('=');
            ReadOnlySpan<char> key = eq < 0 ? pair : pair[..eq];
            if (key.SequenceEqual(name))
            {
                value = eq < 0 ? default : pair[(eq + 1)..];
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>The value as <see cref="HttpRequest.Query"/> would give it (first occurrence), or null when absent.</summary>
    public static string? Get(HttpRequest request, string name)
    {
        string? query = request.QueryString.Value;
        if (NeedsStandardParser(query))
        {
            StringValues values = request.Query[name];
            return values.Count == 0 ? null : values[0];
        }

        return TryGet(query, name, out ReadOnlySpan<char> value) ? value.ToString() : null;
    }
}
