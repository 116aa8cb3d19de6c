using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text.Json;

namespace WebDemo;

/// <summary>
/// Writes the <c>/api/report</c> document: <c>{"count":N,"items":[...],"itemsSha256":"..."}</c>, where the hash
/// covers the exact UTF-8 bytes of the <c>items</c> array. The content depends only on N, so every mode must produce
/// the same bytes; only where the temporary buffers come from differs.
/// </summary>
internal static class ReportBuilder
{
    public const int MinItems = 1;
    public const int MaxItems = 10_000;
    public const int DefaultItems = 100;

    private static readonly byte[][] s_adjectives =
        ["Agile"u8.ToArray(), "Brisk"u8.ToArray(), "Calm"u8.ToArray(), "Deft"u8.ToArray(), "Eager"u8.ToArray(), "Fleet"u8.ToArray(), "Grand"u8.ToArray()];

    private static readonly byte[][] s_nouns =
        ["Anchor"u8.ToArray(), "Beacon"u8.ToArray(), "Cable"u8.ToArray(), "Dynamo"u8.ToArray(), "Engine"u8.ToArray(), "Falcon"u8.ToArray(), "Gear"u8.ToArray(), "Harbor"u8.ToArray(), "Ion"u8.ToArray(), "Jet"u8.ToArray(), "Kite"u8.ToArray()];

    private static readonly byte[][] s_tags =
        ["new"u8.ToArray(), "sale"u8.ToArray(), "eco"u8.ToArray(), "bulk"u8.ToArray(), "gift"u8.ToArray(), "rare"u8.ToArray(), "fast"u8.ToArray(), "cold"u8.ToArray()];

    // Per thread: the writer and hasher are the same objects in every mode, so they are not part of the comparison.
    [ThreadStatic]
    private static Utf8JsonWriter? t_json;

    [ThreadStatic]
    private static IncrementalHash? t_sha256;

    /// <summary>About what one item takes in the output, so the first segment usually holds a small report.</summary>
    public const int BytesPerItemEstimate = 80;

    public static void Write(SegmentedBufferWriter output, ScratchBuffers scratch, int items)
    {
        // One small scratch block per request for the item name, the hash and its hex form.
        Memory<byte> block = scratch.Get(64 + SHA256.HashSizeInBytes + SHA256.HashSizeInBytes * 2);
        Span<byte> name = block.Span[..64];
        Span<byte> hash = block.Span.Slice(64, SHA256.HashSizeInBytes);
        Span<byte> hex = block.Span.Slice(64 + SHA256.HashSizeInBytes, SHA256.HashSizeInBytes * 2);

        Utf8JsonWriter json = t_json ??= new Utf8JsonWriter(output, new JsonWriterOptions { SkipValidation = true });
        json.Reset(output);
        try
        {
            json.WriteStartObject();
            json.WriteNumber("count"u8, items);
            json.WritePropertyName("items"u8);
            json.Flush();
            var start = output.Position;

            json.WriteStartArray();
            for (int id = 1; id <= items; id++)
            {
                WriteItem(json, id, name);
            }

            json.WriteEndArray();
            json.Flush();
            var end = output.Position;

            IncrementalHash sha = t_sha256 ??= IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            output.AppendRange(sha, start, end);
            sha.GetHashAndReset(hash);
            Hex.Lower(hash, hex);

            json.WriteString("itemsSha256"u8, hex);
            json.WriteEndObject();
            json.Flush();
        }
        finally
        {
            // Drop the reference to this request's buffers; the writer is kept for the thread's next request.
            json.Reset(Stream.Null);
        }
    }

    private static void WriteItem(Utf8JsonWriter json, int id, Span<byte> name)
    {
        json.WriteStartObject();
        json.WriteNumber("id"u8, id);
        json.WriteString("name"u8, Name(id, name));

        // Prices in cents with two decimals, spread out but fixed by the id.
        long cents = (id * 7919L) % 99_900 + 100;
        json.WriteNumber("price"u8, new decimal((int)cents, 0, 0, false, 2));

        json.WritePropertyName("tags"u8);
        json.WriteStartArray();
        int tagCount = id % 3 + 1;
        for (int k = 0; k < tagCount; k++)
        {
            json.WriteStringValue(s_tags[(id * 31 + k * 17) % s_tags.Length]);
        }

        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static ReadOnlySpan<byte> Name(int id, Span<byte> buffer)
    {
        byte[] adjective = s_adjectives[id % s_adjectives.Length];
        byte[] noun = s_nouns[id % s_nouns.Length];
        int at = 0;
        adjective.CopyTo(buffer);
        at += adjective.Length;
        buffer[at++] = (byte)' ';
        noun.CopyTo(buffer[at..]);
        at += noun.Length;
        buffer[at++] = (byte)' ';
        Utf8Formatter.TryFormat(id, buffer[at..], out int written, new System.Buffers.StandardFormat('D', 5));
        return buffer[..(at + written)];
    }
}
