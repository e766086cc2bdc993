using System.Collections;
using Profiler.Core.Recording;
using Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Recording;

/// <summary>
/// Event batches built with the generated protobuf classes, the oracle the recording code is held
/// to. Every column of the schema goes in by its EventBatch field, so a column added later is
/// covered without editing the tests.
/// </summary>
static class GeneratedBatches
{
    /// <summary>Appends one event; <paramref name="timeDelta"/> is what the time column carries.</summary>
    public static void Append(EventBatch batch, in RawEvent e, ulong timeDelta)
    {
        foreach (var column in EventColumns.Columns)
        {
            var field = EventBatch.Descriptor.FindFieldByNumber(column.Field);
            object value = typeof(RawEvent).GetProperty(column.Name)!.GetValue(e)!;
            ((IList)field.Accessor.GetValue(batch)).Add(column.Wire switch
            {
                ColumnWire.TimeDelta => timeDelta,
                // memprof's enum as the wire's, value for value
                ColumnWire.Int32 => Enum.ToObject(field.EnumType.ClrType, (int)value),
                _ => value,
            });
        }
    }

    /// <summary>A field's values as their varints carry them (enums sign-extended as protobuf writes them).</summary>
    public static List<ulong> WireValues(EventBatch batch, int fieldNumber)
    {
        var field = EventBatch.Descriptor.FindFieldByNumber(fieldNumber);
        return ((IList)field.Accessor.GetValue(batch)).Cast<object>()
            .Select(v => v is Enum ? (ulong)(long)(int)v : Convert.ToUInt64(v)).ToList();
    }
}
