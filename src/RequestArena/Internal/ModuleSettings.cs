using System.Runtime.CompilerServices;

// Locals are not zero-initialised: no code here reads a local before writing it, and the inlined allocation paths would
// otherwise pay for zeroing stores on every call. dotnet/runtime's libraries are built the same way.
[module: SkipLocalsInit]
