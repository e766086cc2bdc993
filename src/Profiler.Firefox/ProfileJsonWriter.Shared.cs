using System.Text.Json;

namespace Profiler.Firefox;

static partial class ProfileJsonWriter
{
    const int LibraryResourceType = 1;

    static void WriteShared(Utf8JsonWriter json, ProfileTables tables)
    {
        json.WriteStartObject("shared");
        WriteColumn(json, "stringArray", tables.Strings.Values, static (json, text) => json.WriteStringValue(text));
        WriteFuncTable(json, tables.Funcs.Values);
        WriteFrameTable(json, tables.Frames.Values, tables.Funcs.Values);
        WriteStackTable(json, tables.Stacks.Values);
        WriteResourceTable(json, tables.Resources.Values);
        WriteNativeSymbols(json, tables.NativeSymbols.Values);
        WriteSources(json, tables.Sources.Values);
        WriteEmptyTable(json, "sourceLocationTable", "source", "line", "column");
        json.WriteEndObject();
    }

    static void WriteFuncTable(Utf8JsonWriter json, IReadOnlyList<FuncRow> funcs)
    {
        json.WriteStartObject("funcTable");
        WriteColumn(json, "name", funcs, static (json, func) => json.WriteNumberValue(func.Name.Index));
        WriteRepeated(json, "isJS", funcs.Count, static json => json.WriteBooleanValue(false));
        WriteRepeated(json, "relevantForJS", funcs.Count, static json => json.WriteBooleanValue(false));
        WriteColumn(json, "resource", funcs, static (json, func) => json.WriteNumberValue(func.Resource));
        WriteColumn(json, "source", funcs, static (json, func) => WriteNumberOrNull(json, func.Source));
        WriteColumn(json, "lineNumber", funcs, static (json, func) => WriteNumberOrNull(json, func.Line));
        WriteRepeated(json, "columnNumber", funcs.Count, static json => json.WriteNullValue());
        WriteRepeated(json, "originalLocation", funcs.Count, static json => json.WriteNullValue());
        json.WriteNumber("length", funcs.Count);
        json.WriteEndObject();
    }

    static void WriteFrameTable(Utf8JsonWriter json, IReadOnlyList<FrameRow> frames, IReadOnlyList<FuncRow> funcs)
    {
        json.WriteStartObject("frameTable");
        WriteColumn(json, "address", frames, static (json, frame) =>
        {
            if (frame.Address is { } address) json.WriteNumberValue(address);
            else json.WriteNumberValue(-1);
        });
        WriteColumn(json, "inlineDepth", frames, static (json, frame) => json.WriteNumberValue(frame.InlineDepth));
        WriteColumn(json, "category", frames, static (json, frame) => json.WriteNumberValue(frame.Category.Index));
        WriteRepeated(json, "subcategory", frames.Count, static json => json.WriteNumberValue(0));
        WriteColumn(json, "func", frames, static (json, frame) => json.WriteNumberValue(frame.Func.Index));
        json.WriteStartArray("lib");
        foreach (var frame in frames) json.WriteNumberValue(funcs[frame.Func.Index].Lib?.Index ?? -1);
        json.WriteEndArray();
        WriteColumn(json, "nativeSymbol", frames, static (json, frame) => WriteNumberOrNull(json, frame.NativeSymbol?.Index));
        WriteRepeated(json, "innerWindowID", frames.Count, static json => json.WriteNullValue());
        WriteColumn(json, "line", frames, static (json, frame) => WriteNumberOrNull(json, frame.Line));
        WriteRepeated(json, "column", frames.Count, static json => json.WriteNullValue());
        WriteRepeated(json, "originalLocation", frames.Count, static json => json.WriteNullValue());
        json.WriteNumber("length", frames.Count);
        json.WriteEndObject();
    }

    static void WriteStackTable(Utf8JsonWriter json, IReadOnlyList<StackRow> stacks)
    {
        json.WriteStartObject("stackTable");
        WriteColumn(json, "frame", stacks, static (json, stack) => json.WriteNumberValue(stack.Frame.Index));
        json.WriteStartArray("prefixOffset");
        for (var row = 0; row < stacks.Count; row++)
        {
            // Interning adds a parent before any of its children, so the offset is always positive.
            json.WriteNumberValue(stacks[row].Parent is { } parent ? row - parent.Index : 0);
            FlushIfFull(json);
        }
        json.WriteEndArray();
        json.WriteNumber("length", stacks.Count);
        json.WriteEndObject();
    }

    static void WriteResourceTable(Utf8JsonWriter json, IReadOnlyList<ResourceRow> resources)
    {
        json.WriteStartObject("resourceTable");
        WriteColumn(json, "name", resources, static (json, resource) => json.WriteNumberValue(resource.Name.Index));
        WriteRepeated(json, "host", resources.Count, static json => json.WriteNullValue());
        WriteRepeated(json, "type", resources.Count, static json => json.WriteNumberValue(LibraryResourceType));
        json.WriteNumber("length", resources.Count);
        json.WriteEndObject();
    }

    static void WriteNativeSymbols(Utf8JsonWriter json, IReadOnlyList<NativeSymbolRow> symbols)
    {
        json.WriteStartObject("nativeSymbols");
        WriteColumn(json, "libIndex", symbols, static (json, symbol) => json.WriteNumberValue(symbol.Lib.Index));
        WriteColumn(json, "address", symbols, static (json, symbol) => json.WriteNumberValue(symbol.Address));
        WriteColumn(json, "name", symbols, static (json, symbol) => json.WriteNumberValue(symbol.Name.Index));
        WriteColumn(json, "functionSize", symbols, static (json, symbol) =>
        {
            if (symbol.FunctionSize is { } size) json.WriteNumberValue(size);
            else json.WriteNullValue();
        });
        json.WriteNumber("length", symbols.Count);
        json.WriteEndObject();
    }

    static void WriteSources(Utf8JsonWriter json, IReadOnlyList<StringId> fileNames)
    {
        json.WriteStartObject("sources");
        WriteRepeated(json, "id", fileNames.Count, static json => json.WriteNullValue());
        WriteColumn(json, "filename", fileNames, static (json, fileName) => json.WriteNumberValue(fileName.Index));
        WriteRepeated(json, "startLine", fileNames.Count, static json => json.WriteNumberValue(1));
        WriteRepeated(json, "startColumn", fileNames.Count, static json => json.WriteNumberValue(1));
        WriteRepeated(json, "sourceMapURL", fileNames.Count, static json => json.WriteNullValue());
        WriteRepeated(json, "content", fileNames.Count, static json => json.WriteNullValue());
        json.WriteNumber("length", fileNames.Count);
        json.WriteEndObject();
    }

    static void WriteEmptyTable(Utf8JsonWriter json, string name, params ReadOnlySpan<string> columns)
    {
        json.WriteStartObject(name);
        WriteEmptyColumns(json, columns);
        json.WriteNumber("length", 0);
        json.WriteEndObject();
    }
}
