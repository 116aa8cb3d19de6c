using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using RequestArena;

namespace WebDemo;

/// <summary>
/// <c>GET /api/records?count=N&amp;alloc=arena|pool|new</c>: the pattern IIS request pools were made for. The
/// request parses N records and copies each of their four fields (name, city, tag and a formatted SKU) into a buffer
/// of its own, 4·N small allocations, all kept until the end of the request; only then is every field read back
/// into a checksum. The answer depends only on N, so every mode returns the same JSON.
/// </summary>
internal static class RecordsEndpoint
{
    public const int MinCount = 1;
    public const int MaxCount = 10_000;
    public const int DefaultCount = 500;
    public const int FieldsPerRecord = 4;

    /// <summary>The endpoint's arena quota: the largest request asks for about 500 KB.</summary>
    public const long ArenaQuota = 2L * 1024 * 1024;

    private const int SkuLength = 10;   // "SKU-" and six digits

    // The raw input: semicolon-separated lines such as a request's form fields or a batch upload would carry.
    private static readonly byte[][] s_lines =
    [
        "Agile Anchor;Aberdeen;eco"u8.ToArray(),
        "Brisk Beacon;Bologna;sale"u8.ToArray(),
        "Calm Cable;Cork;new"u8.ToArray(),
        "Deft Dynamo;Dordrecht;bulk"u8.ToArray(),
        "Eager Engine;Edinburgh;gift"u8.ToArray(),
        "Fleet Falcon;Florence;rare"u8.ToArray(),
        "Grand Gear;Gothenburg;fast"u8.ToArray(),
        "Harbor Ion;Helsinki;cold"u8.ToArray(),
        "Jet Kite;Jyvaskyla;eco"u8.ToArray(),
        "Keen Lantern;Krakow;sale"u8.ToArray(),
        "Lucid Magnet;Lisbon;new"u8.ToArray(),
    ];

    public static RouteHandlerBuilder MapRecords(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/api/records", GetRecords).WithRequestArena(ArenaQuota);

    private static Results<Ok<RecordsSummary>, ValidationProblem> GetRecords(
        string? count, string? alloc, IModuleAllocator arena, ArrayPoolAllocator pool, DemoCounters counters)
    {
        if (!QueryParameters.TryParseCount(count, "count", MinCount, MaxCount, DefaultCount, out int records, out ValidationProblem? problem)
            || !QueryParameters.TryParseMode(alloc, AllocModes.Allocators, out AllocMode mode, out problem))
        {
            return problem;
        }

        IModuleAllocator buffers = BufferSources.Select(mode, arena, pool);

        // The table of handles is rented in every mode, so only where the field bytes live differs between modes.
        int fieldCount = records * FieldsPerRecord;
        Memory<byte>[] fields = ArrayPool<Memory<byte>>.Shared.Rent(fieldCount);
        try
        {
            long bytes = ParseAll(buffers, fields.AsSpan(0, fieldCount));
            ulong checksum = Checksum(fields.AsSpan(0, fieldCount));
            counters.Record(mode, bytes);
            return TypedResults.Ok(new RecordsSummary(records, fieldCount, bytes, checksum.ToString("x16", CultureInfo.InvariantCulture)));
        }
        finally
        {
            // Cleared: the table must not keep this request's memory reachable from the pool.
            ArrayPool<Memory<byte>>.Shared.Return(fields, clearArray: true);
        }
    }

    /// <summary>Parses records 1 to N into <paramref name="fields"/>, <see cref="FieldsPerRecord"/> fields each.</summary>
    /// <returns>The bytes allocated.</returns>
    internal static long ParseAll(IModuleAllocator buffers, Span<Memory<byte>> fields)
    {
        long bytes = 0;
        int records = fields.Length / FieldsPerRecord;
        for (int id = 1; id <= records; id++)
        {
            bytes += Parse(id, buffers, fields.Slice((id - 1) * FieldsPerRecord, FieldsPerRecord));
        }

        return bytes;
    }

    /// <summary>Splits record <paramref name="id"/>'s line and copies each field into its own buffer.</summary>
    /// <returns>The bytes allocated.</returns>
    internal static int Parse(int id, IModuleAllocator buffers, Span<Memory<byte>> into)
    {
        ReadOnlySpan<byte> rest = s_lines[id % s_lines.Length];
        int bytes = 0;
        for (int f = 0; f < FieldsPerRecord - 1; f++)
        {
            int end = rest.IndexOf((byte)';');
            ReadOnlySpan<byte> token = end < 0 ? rest : rest[..end];
            rest = end < 0 ? default : rest[(end + 1)..];

            Memory<byte> copy = buffers.AllocateMemory(token.Length);
            token.CopyTo(copy.Span);
            into[f] = copy;
            bytes += token.Length;
        }

        Memory<byte> sku = buffers.AllocateMemory(SkuLength);
        Span<byte> skuSpan = sku.Span;
        "SKU-"u8.CopyTo(skuSpan);
        Utf8Formatter.TryFormat(id, skuSpan[4..], out _, new StandardFormat('D', 6));
        into[FieldsPerRecord - 1] = sku;
        return bytes + SkuLength;
    }

    /// <summary>
    /// Mixes each field's length and first and last eight bytes (fields are short): cheap enough that the request's
    /// time stays with its allocations, and any field that lost or changed its bytes changes the answer.
    /// </summary>
    internal static ulong Checksum(ReadOnlySpan<Memory<byte>> fields)
    {
        const ulong Prime = 0x100000001B3;
        ulong hash = 0xCBF29CE484222325;
        Span<byte> small = stackalloc byte[8];
        foreach (Memory<byte> field in fields)
        {
            ReadOnlySpan<byte> bytes = field.Span;
            ulong head, tail;
            if (bytes.Length >= 8)
            {
                head = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
                tail = BinaryPrimitives.ReadUInt64LittleEndian(bytes[^8..]);
            }
            else
            {
                small.Clear();
                bytes.CopyTo(small);
                head = tail = BinaryPrimitives.ReadUInt64LittleEndian(small);
            }

            hash = (hash ^ (ulong)bytes.Length) * Prime;
            hash = (hash ^ head) * Prime;
            hash = (hash ^ tail) * Prime;
        }

        return hash;
    }
}

/// <summary>The <c>/api/records</c> answer.</summary>
/// <param name="Count">Records parsed.</param>
/// <param name="Allocations">Separate buffers taken and held until the end of the request.</param>
/// <param name="Bytes">Bytes asked for across them.</param>
/// <param name="Checksum">Over every field, read back after the last allocation.</param>
internal sealed record RecordsSummary(int Count, int Allocations, long Bytes, string Checksum);
