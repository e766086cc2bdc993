using Google.Protobuf;
using Profiler.Core.Recording.Proto;

namespace Profiler.Core.Recording;

/// <summary>
/// Reads a recording held in memory without a protobuf object per event batch: the framing is
/// walked here, event batches are decoded column by column into <see cref="EventColumns"/> of
/// exactly the right length (on two threads when there are many), and only the few other records
/// go through the generated parser. It accepts only what it fully understands and otherwise
/// returns null, so the caller can give the bytes to <see cref="ProtobufRecordingReader"/>:
/// errors and unusual encodings keep that reader's exact behaviour and messages.
/// </summary>
static unsafe class FastRecordingReader
{
    /// <summary>Below this many events a second thread costs more than it saves.</summary>
    const int ParallelThreshold = 200_000;

    /// <param name="origin">Where the bytes start in their stream (kept for callers; messages count
    /// bytes from the recording's first byte).</param>
    /// <returns>The recording, or null when the bytes need the reference reader.</returns>
    /// <param name="stream">Leave the events in the file: the recording's <see cref="RawRecording.Batches"/>
    /// decode them on each walk (the name is then the file's path), and the pages read are given
    /// back as the walk goes (<paramref name="data"/> must then be a mapping of the file).</param>
    public static RawRecording? TryRead(byte* data, long length, long origin, string name, bool stream = false)
    {
        var magic = RecordingFormat.Magic;
        if (length < magic.Length || !new ReadOnlySpan<byte>(data, magic.Length).SequenceEqual(magic)) return null;

        var records = new RecordCollector();
        var warnings = records.Warnings;
        Header? header = null;
        var batches = new List<EventBatchSlice>();
        int index = 0;
        CheckedFrames? frames = null;

        long position = magic.Length;
        long released = 0;
        while (true)
        {
            long start, bodyStart;
            int bodyLength;
            if (frames is not null)
            {
                if (!frames.Next(out bodyStart, out bodyLength)) break;
                start = bodyStart;
            }
            else
            {
                if (position >= length) break;
                start = position;
                var frame = ReadLength(data, length, ref position);
                if (frame == FrameLength.Malformed) return null;
                if (frame == FrameLength.CutOff || length - position < frame.Value)
                {
                    // As the reference reader words it: the record's position from the recording's first byte.
                    warnings.Add($"{name}: the recording ends in the middle of a record at byte {start}" +
                                 " (the recorder was probably stopped abruptly); reading what came before it");
                    records.CutShort = true;
                    break;
                }
                bodyStart = position;
                bodyLength = frame.Value;
                position += frame.Value;
            }
            if (stream && bodyStart - released >= MappedPages.Window)
            {
                MappedPages.Release(data + released, data + bodyStart);
                released = bodyStart;
            }
            var body = new ReadOnlySpan<byte>(data + bodyStart, bodyLength);

            if (index++ > 0 && EventBatchSlice.TryLocate(body, bodyStart) is { } located)
            {
                batches.Add(located);
                continue;
            }
            Record record;
            try { record = Record.Parser.ParseFrom(body); }
            catch (InvalidProtocolBufferException) { return null; }
            if (index == 1 && record.KindCase != Record.KindOneofCase.Header) return null;
            switch (record.KindCase)
            {
                case Record.KindOneofCase.Header:
                    if (record.Header.FormatVersion > RecordingFormat.Version) return null;
                    header = record.Header;
                    if (index == 1 && CheckedFrames.Follow(data, length, position, header.FormatVersion))
                    {
                        // Format 2: the header's own check, then every record is checked.
                        frames = new CheckedFrames(data, length, 0, name, records);
                        if (!frames.CheckHeader(start, position, out _)) return null;
                    }
                    break;
                case Record.KindOneofCase.Events:
                    if (EventBatchSlice.Parsed(record.Events) is not { } parsed) return null;
                    batches.Add(parsed);
                    break;
                case Record.KindOneofCase.CompressedEvents:
                    // Laid out otherwise than the writer lays it: the reference reader's verdict.
                    return null;
                case Record.KindOneofCase.CompressedStacks:
                    // One that does not decode: the reference reader's verdict.
                    if (!StackBatchCodec.DecodeInto(record.CompressedStacks, records.Stacks)) return null;
                    break;
                case Record.KindOneofCase.CompressedRecords:
                    if (CompressedRecord.DecodeRecords(record.CompressedRecords) is not { } inside) return null;
                    foreach (var one in inside) records.Add(one);
                    break;
                default:
                    records.Add(record);
                    break;
            }
        }

        if (header is null) return null;
        if (stream)
        {
            var recording = records.Build(header, new EventColumns(), name);
            return recording.WithBatches(EventBatches.InFile(name, origin, batches));
        }
        var events = DecodeAll(data, batches);
        if (events is null) return null;

        return records.Build(header, events, name);
    }

    /// <summary>All batches into columns of exactly their total length; times are cumulative over
    /// the whole recording, so each half is decoded from zero and the second shifted afterwards.</summary>
    static EventColumns? DecodeAll(byte* data, List<EventBatchSlice> batches)
    {
        long total = 0;
        foreach (var b in batches) total += b.Count;
        if (total > Array.MaxLength) return null;
        var events = EventColumns.OfLength((int)total);
        int split = batches.Count;
        if (total >= ParallelThreshold)
        {
            long half = 0;
            for (split = 0; split < batches.Count && half < total / 2; split++) half += batches[split].Count;
        }
        int secondStart = 0;
        for (int i = 0; i < split; i++) secondStart += batches[i].Count;

        bool firstOk = true, secondOk = true;
        long firstEnd = 0;
        var second = split < batches.Count
            ? Task.Run(() => secondOk = DecodeRange(data, batches, split, batches.Count, events, secondStart, out _))
            : Task.CompletedTask;
        firstOk = DecodeRange(data, batches, 0, split, events, 0, out firstEnd);
        second.Wait();
        if (!firstOk || !secondOk) return null;
        if (firstEnd != 0)
        {
            var times = events.TimeNanos;
            for (int i = secondStart; i < times.Length; i++) times[i] += firstEnd;
        }
        return events;
    }

    static bool DecodeRange(byte* data, List<EventBatchSlice> batches, int from, int to, EventColumns events, int at, out long time)
    {
        time = 0;
        for (int b = from; b < to; b++)
        {
            if (!batches[b].DecodeInto(data, events, at, ref time)) return false;
            at += batches[b].Count;
        }
        return true;
    }

    readonly record struct FrameLength(int Value)
    {
        public static readonly FrameLength Malformed = new(-1);
        public static readonly FrameLength CutOff = new(-2);
    }

    /// <summary>A record's varint length prefix, as the protobuf reader reads it (an int32).</summary>
    static FrameLength ReadLength(byte* data, long length, ref long position)
    {
        ulong value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (position >= length) return FrameLength.CutOff;
            byte b = data[position++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return value <= int.MaxValue ? new FrameLength((int)value) : FrameLength.Malformed;
        }
        return FrameLength.Malformed;
    }
}
