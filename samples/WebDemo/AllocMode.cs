namespace WebDemo;

/// <summary>Where an endpoint takes its temporary buffers from.</summary>
public enum AllocMode
{
    /// <summary>The request arena: the <see cref="RequestArena.IModuleAllocator"/> injected into the handler.</summary>
    Arena,

    /// <summary><see cref="System.Buffers.ArrayPool{T}.Shared"/>, every array returned when the request ends.</summary>
    Pool,

    /// <summary>Fresh arrays, left to the GC.</summary>
    New,

    /// <summary>A <c>RecyclableMemoryStream</c> (large bodies only: <c>/api/transform</c>).</summary>
    Recyclable,
}
