namespace Profiler.Firefox;

// Rows a ProfileBuilder keeps; the interned ones rely on value equality.

readonly record struct CategoryRow(string Name, CategoryColor Color);

/// <summary><paramref name="Resource"/> is -1 when the function has no library.</summary>
readonly record struct FuncRow(StringId Name, LibId? Lib, int Resource, int? Source, int? Line);

readonly record struct FrameRow(FuncId Func, ulong? Address, int? Line, int InlineDepth, CategoryId Category, NativeSymbolId? NativeSymbol);

readonly record struct NativeSymbolRow(LibId Lib, ulong Address, StringId Name, long? FunctionSize);

readonly record struct ResourceRow(LibId Lib, StringId Name);

readonly record struct StackRow(FrameId Frame, StackId? Parent);

readonly record struct ProcessRow(long Pid, string Name, double StartTimeMs);

readonly record struct MarkerRow(StringId Name, double TimeMs, CategoryId Category, long? Bytes, string? Detail);
