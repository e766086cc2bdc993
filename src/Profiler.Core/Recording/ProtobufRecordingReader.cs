using Google.Protobuf;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>
/// The reference reader: every record through the generated protobuf classes. It allocates
/// objects per record and per column, which costs seconds on recordings of millions of events, so
/// <see cref="RecordingReader"/> decodes event batches itself and hands this reader whatever is
/// not a well-formed recording; this reader gives the verdict on those, and is the oracle the
/// fast path is tested against.
/// </summary>
public static unsafe class ProtobufRecordingReader
{
    public static RawRecording Read(Stream stream, string name)
    {
        var magic = new byte[RecordingFormat.Magic.Length];
        int got = stream.ReadAtLeast(magic, magic.Length, throwOnEndOfStream: false);
        if (got < magic.Length || !magic.AsSpan().SequenceEqual(RecordingFormat.Magic))
            throw new ProfilerException(ExitCode.WrongFileType, $"{name} is not a memprof recording (wrong file type)");

        // The rest in memory: format 2's checks and resynchronisation need the bytes themselves.
        var copy = new MemoryStream();
        stream.CopyTo(copy);
        var bytes = copy.GetBuffer();
        int length = (int)copy.Length;
        var input = new CodedInputStream(bytes, 0, length);
        var records = new RecordCollector();
        var warnings = records.Warnings;
        Header? header = null;
        var events = new EventColumns();
        long time = 0;
        int index = 0;

        while (!input.IsAtEnd)
        {
            long start = input.Position;
            Record record;
            try
            {
                record = new Record();
                input.ReadMessage(record);
            }
            catch (InvalidProtocolBufferException ex) when (IsTruncation(ex, input, length))
            {
                warnings.Add($"{name}: the recording ends in the middle of a record at byte {start + magic.Length}" +
                             " (the recorder was probably stopped abruptly); reading what came before it");
                records.CutShort = true;
                break;
            }
            catch (InvalidProtocolBufferException ex)
            {
                throw new ProfilerException(ExitCode.CorruptRecording,
                    $"{name} is corrupt at byte {start + magic.Length} (record {index}): {ex.Message}");
            }

            if (index == 0 && record.KindCase != Record.KindOneofCase.Header)
                throw new ProfilerException(ExitCode.CorruptRecording, $"{name} is corrupt: it does not start with a header");
            index++;
            if (index == 1 && record.Header.FormatVersion > RecordingFormat.Version)
                throw new ProfilerException(ExitCode.WrongFileType,
                    $"{name} has recording format {record.Header.FormatVersion}; this memprof reads up to {RecordingFormat.Version}");
            bool followsChecked;
            fixed (byte* data = bytes)
                followsChecked = index == 1 && CheckedFrames.Follow(data, length, input.Position, record.Header.FormatVersion);
            if (followsChecked)
            {
                fixed (byte* data = bytes)
                    time = ReadChecked(data, length, start, input.Position, magic.Length, name, records, record.Header, events);
                header = record.Header;
                break;
            }
            time = Apply(record, ref header, events, time, records, name);
        }

        events.TrimExcess();
        if (header is null)
            throw new ProfilerException(ExitCode.CorruptRecording, $"{name} is truncated before its header");

        return records.Build(header, events, name);
    }

    /// <summary>Format 2: the header's check, then every intact record (damaged ones skipped, counted).</summary>
    static long ReadChecked(byte* data, int length, long headerStart, long headerEnd, int displayOffset, string name,
        RecordCollector records, Header header, EventColumns events)
    {
        var frames = new CheckedFrames(data, length, displayOffset, name, records);
        if (!frames.CheckHeader(headerStart, headerEnd, out bool cut))
        {
            if (!cut) throw new ProfilerException(ExitCode.CorruptRecording, $"{name} is corrupt: its header fails its integrity check");
            records.Warnings.Add($"{name}: the recording ends in the middle of a record at byte {headerEnd + displayOffset}" +
                                 " (the recorder was probably stopped abruptly); reading what came before it");
            records.CutShort = true;
            return 0;
        }
        long time = 0;
        Header? current = header;
        while (frames.Next(out long bodyStart, out int bodyLength))
        {
            Record record;
            try { record = Record.Parser.ParseFrom(new ReadOnlySpan<byte>(data + bodyStart, bodyLength)); }
            catch (InvalidProtocolBufferException ex)
            {
                // Intact but unreadable: not damage on the way, a writer's fault; nothing can be trusted.
                throw new ProfilerException(ExitCode.CorruptRecording, $"{name} is corrupt at byte {bodyStart + displayOffset}: {ex.Message}");
            }
            time = Apply(record, ref current, events, time, records, name);
        }
        return time;
    }

    static long Apply(Record record, ref Header? header, EventColumns events, long time, RecordCollector records, string name)
    {
        switch (record.KindCase)
        {
            case Record.KindOneofCase.Header:
                if (record.Header.FormatVersion > RecordingFormat.Version)
                    throw new ProfilerException(ExitCode.WrongFileType,
                        $"{name} has recording format {record.Header.FormatVersion}; this memprof reads up to {RecordingFormat.Version}");
                header = record.Header;
                return time;
            case Record.KindOneofCase.Events:
                return AppendBatch(record.Events, events, time, name);
            case Record.KindOneofCase.CompressedEvents:
                return AppendCompressed(record.CompressedEvents, events, time, name);
            case Record.KindOneofCase.CompressedStacks:
                if (!StackBatchCodec.DecodeInto(record.CompressedStacks, records.Stacks))
                    throw new ProfilerException(ExitCode.CorruptRecording,
                        $"{name} is corrupt: a compressed stack batch does not decompress to its {record.CompressedStacks.Count:N0} stacks");
                return time;
            case Record.KindOneofCase.CompressedRecords:
                var inside = CompressedRecord.DecodeRecords(record.CompressedRecords)
                    ?? throw new ProfilerException(ExitCode.CorruptRecording,
                        $"{name} is corrupt: a compressed record does not decompress to the {record.CompressedRecords.Count:N0} records it says");
                foreach (var one in inside) records.Add(one);
                return time;
            default:
                // Records of a newer minor revision are skipped: what we do not know.
                records.Add(record);
                return time;
        }
    }

    static bool IsTruncation(InvalidProtocolBufferException ex, CodedInputStream input, int length) =>
        ex.Message.Contains("truncated", StringComparison.OrdinalIgnoreCase) || input.IsAtEnd || input.Position >= length;

    static long AppendBatch(EventBatch batch, EventColumns events, long time, string name)
    {
        int count = EventBatchCodec.Count(batch);
        if (count < 0)
            throw new ProfilerException(ExitCode.CorruptRecording, $"{name} is corrupt: an event batch has columns of different lengths");
        EventBatchCodec.Decode(batch, events, events.Extend(count), ref time);
        return time;
    }

    static long AppendCompressed(CompressedEvents record, EventColumns events, long time, string name)
    {
        var batch = EventBatchCodec.Decompress(record)
            ?? throw new ProfilerException(ExitCode.CorruptRecording, $"{name} is corrupt: a compressed event batch does not decompress to an event batch");
        int count = EventBatchCodec.Count(batch);
        if (count < 0 || count != record.Count)
            throw new ProfilerException(ExitCode.CorruptRecording,
                $"{name} is corrupt: a compressed event batch holds {(count < 0 ? "columns of different lengths" : $"{count:N0} events, not the {record.Count:N0} it says")}");
        int at = events.Extend(count);
        EventBatchCodec.Decode(batch, events, at, ref time);
        EventBatchCodec.Loosen(events, at, count);
        return time;
    }
}
