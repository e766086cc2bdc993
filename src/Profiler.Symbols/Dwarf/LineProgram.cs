namespace Profiler.Symbols.Dwarf;

/// <summary>Reads a line number program (DWARF 2 to 5) from .debug_line and runs it into a
/// <see cref="LineTable"/>.</summary>
internal static class LineProgram
{
    public static LineTable Read(DwarfUnit unit, ulong offset)
    {
        var sections = unit.Sections;
        var cursor = sections.Line.Cursor(offset);
        ulong length = cursor.U32();
        bool is64 = length == 0xffff_ffff;
        if (is64)
            length = cursor.U64();
        if (length > (ulong)cursor.Length - cursor.Position)
            throw new DwarfFormatException($"line program at 0x{offset:x} runs past the end of .debug_line");
        ulong end = cursor.Position + length;
        ushort version = cursor.U16();
        if (version is < 2 or > 5)
            throw new DwarfFormatException($"line program version {version} is not supported");
        int addressSize = unit.Header.AddressSize;
        if (version >= 5)
        {
            addressSize = cursor.U8();
            cursor.U8(); // segment selector size
        }
        ulong headerLength = cursor.Offset(is64);
        ulong programStart = cursor.Position + headerLength;
        byte minimumInstructionLength = cursor.U8();
        byte maximumOperations = version >= 4 ? cursor.U8() : (byte)1;
        cursor.U8(); // default_is_stmt: every row is used, statement or not
        sbyte lineBase = cursor.S8();
        byte lineRange = cursor.U8();
        byte opcodeBase = cursor.U8();
        var header = new Header(minimumInstructionLength, maximumOperations, lineBase, lineRange, opcodeBase);
        var standardLengths = cursor.Take(Math.Max(header.OpcodeBase, (byte)1) - 1UL).ToArray();
        var context = new FormContext(version, addressSize, is64, unit.Header.Offset);
        var files = version >= 5
            ? ReadEntryTablesV5(ref cursor, unit, context)
            : ReadEntryTablesV4(ref cursor, unit);
        if (programStart > end)
            throw new DwarfFormatException($"line program header at 0x{offset:x} is longer than the program");
        cursor.Position = programStart;
        return Run(ref cursor, end, header, standardLengths, files);
    }

    private readonly record struct Header(
        byte MinimumInstructionLength, byte MaximumOperations, sbyte LineBase, byte LineRange, byte OpcodeBase);

    private static LineFileTable ReadEntryTablesV4(ref DwarfCursor cursor, DwarfUnit unit)
    {
        var directories = new List<string> { unit.CompDir ?? "" };
        while (true)
        {
            var directory = cursor.CString();
            if (directory.IsEmpty)
                break;
            directories.Add(System.Text.Encoding.UTF8.GetString(directory));
        }
        var files = new List<(string, ulong)> { ("", 0) };
        while (true)
        {
            var name = cursor.CString();
            if (name.IsEmpty)
                break;
            ulong directory = cursor.Uleb();
            cursor.Uleb(); // modification time
            cursor.Uleb(); // length
            files.Add((System.Text.Encoding.UTF8.GetString(name), directory));
        }
        return new LineFileTable(directories, files, unit.CompDir);
    }

    private static LineFileTable ReadEntryTablesV5(ref DwarfCursor cursor, DwarfUnit unit, in FormContext context)
    {
        var directories = new List<string>();
        foreach (var (name, _) in ReadEntriesV5(ref cursor, unit, context))
            directories.Add(name);
        var files = ReadEntriesV5(ref cursor, unit, context);
        return new LineFileTable(directories, files, unit.CompDir);
    }

    /// <summary>One DWARF 5 entry table: its format (content type and form pairs), then the entries.</summary>
    private static List<(string Name, ulong Directory)> ReadEntriesV5(ref DwarfCursor cursor, DwarfUnit unit, in FormContext context)
    {
        int formatCount = cursor.U8();
        var format = new (ulong Content, uint Form)[formatCount];
        for (int i = 0; i < formatCount; i++)
            format[i] = (cursor.Uleb(), (uint)cursor.Uleb());
        ulong count = cursor.Uleb();
        if (count > (ulong)cursor.Length)
            throw new DwarfFormatException($"line program claims {count} entries");
        var entries = new List<(string, ulong)>((int)count);
        for (ulong i = 0; i < count; i++)
        {
            string name = "";
            ulong directory = 0;
            foreach (var (content, form) in format)
            {
                var value = FormReader.Read(ref cursor, form, context, 0);
                if (content == DwLnct.Path)
                    name = value.Kind == ValueKind.InlineString
                        ? unit.Sections.Line.ReadString(value.Value)
                        : unit.String(value) ?? "";
                else if (content == DwLnct.DirectoryIndex && value.AsConstant is { } index)
                    directory = index;
            }
            entries.Add((name, directory));
        }
        return entries;
    }

    private static LineTable Run(ref DwarfCursor cursor, ulong end, Header header, byte[] standardLengths, LineFileTable files)
    {
        var sequences = new List<LineTable.Sequence>();
        var addresses = new List<ulong>();
        var lines = new List<int>();
        var fileNumbers = new List<uint>();
        var state = new State(header);
        int sequenceStart = 0;

        void EmitRow()
        {
            addresses.Add(state.Address);
            lines.Add(state.Line);
            fileNumbers.Add(state.File);
        }

        void EndSequence()
        {
            int count = addresses.Count - sequenceStart;
            if (count > 0 && AddressRange.IsUsable(addresses[sequenceStart], state.Address))
            {
                SortIfOutOfOrder(addresses, lines, fileNumbers, sequenceStart, count);
                sequences.Add(new LineTable.Sequence(addresses[sequenceStart], state.Address, sequenceStart, count));
            }
            else
            {
                addresses.RemoveRange(sequenceStart, count);
                lines.RemoveRange(sequenceStart, count);
                fileNumbers.RemoveRange(sequenceStart, count);
            }
            sequenceStart = addresses.Count;
            state = new State(header);
        }

        while (cursor.Position < end)
        {
            byte opcode = cursor.U8();
            if (opcode >= header.OpcodeBase)
            {
                if (header.LineRange == 0)
                    throw new DwarfFormatException("line program has line_range 0 but uses special opcodes");
                int adjusted = opcode - header.OpcodeBase;
                state.Advance((ulong)(adjusted / header.LineRange));
                state.Line += header.LineBase + adjusted % header.LineRange;
                EmitRow();
                continue;
            }
            switch (opcode)
            {
                case 0:
                {
                    ulong length = cursor.Uleb();
                    if (length == 0)
                        break;
                    ulong next = cursor.Position + length;
                    byte extended = cursor.U8();
                    if (extended == DwLne.EndSequence)
                        EndSequence();
                    else if (extended == DwLne.SetAddress)
                    {
                        state.Address = cursor.Unsigned((int)Math.Min(length - 1, 8));
                        state.OperationIndex = 0;
                    }
                    cursor.Position = next;
                    break;
                }
                case DwLns.Copy:
                    EmitRow();
                    break;
                case DwLns.AdvancePc:
                    state.Advance(cursor.Uleb());
                    break;
                case DwLns.AdvanceLine:
                    state.Line = (int)Math.Clamp(state.Line + cursor.Sleb(), int.MinValue, int.MaxValue);
                    break;
                case DwLns.SetFile:
                    state.File = (uint)Math.Min(cursor.Uleb(), uint.MaxValue);
                    break;
                case DwLns.ConstAddPc:
                    if (header.LineRange != 0)
                        state.Advance((ulong)((255 - header.OpcodeBase) / header.LineRange));
                    break;
                case DwLns.FixedAdvancePc:
                    state.Address += cursor.U16();
                    state.OperationIndex = 0;
                    break;
                default:
                    // Standard opcodes this reader has no use for (columns, flags, ISA) and any
                    // newer ones: skip their operands, whose count the header gives.
                    for (int i = 0; i < standardLengths[opcode - 1]; i++)
                        cursor.Uleb();
                    break;
            }
        }
        return new LineTable(sequences, addresses, lines, fileNumbers, files);
    }

    private static void SortIfOutOfOrder(List<ulong> addresses, List<int> lines, List<uint> files, int start, int count)
    {
        for (int i = start + 1; i < start + count; i++)
        {
            if (addresses[i] >= addresses[i - 1])
                continue;
            var rows = Enumerable.Range(start, count)
                .Select(r => (Address: addresses[r], Line: lines[r], File: files[r]))
                .OrderBy(r => r.Address) // stable: rows at one address keep their order
                .ToList();
            for (int r = 0; r < count; r++)
                (addresses[start + r], lines[start + r], files[start + r]) = rows[r];
            return;
        }
    }

    private struct State(Header header)
    {
        public ulong Address = 0;
        public ulong OperationIndex = 0;
        public uint File = 1;
        public int Line = 1;

        public void Advance(ulong operationAdvance)
        {
            ulong maximumOperations = Math.Max(header.MaximumOperations, (byte)1);
            if (maximumOperations == 1)
            {
                Address += header.MinimumInstructionLength * operationAdvance;
                return;
            }
            Address += header.MinimumInstructionLength * ((OperationIndex + operationAdvance) / maximumOperations);
            OperationIndex = (OperationIndex + operationAdvance) % maximumOperations;
        }
    }
}
