using System.Reflection;
using Google.Protobuf.Reflection;
using Profiler.Core.Model;
using Profiler.Core.Recording;
using Proto = Profiler.Core.Recording.Proto;

namespace Profiler.Tests.Recording;

/// <summary>
/// The event columns are listed once, in <see cref="EventColumns.Columns"/>; the few places that
/// must still name each one — the recording's EventBatch message, <see cref="RawEvent"/>, the arrays
/// of <see cref="EventColumns"/> and the model's <see cref="AllocationTable"/> — are held to it
/// here, so a column added in one place and not the others fails.
/// </summary>
public sealed class EventSchemaTests
{
    static readonly IReadOnlyList<EventColumn> Columns = EventColumns.Columns;

    [Fact]
    public void The_recordings_event_batch_has_exactly_the_schemas_columns_in_field_order()
    {
        var fields = Proto.EventBatch.Descriptor.Fields.InFieldNumberOrder();
        Assert.Equal(fields.Select(f => f.FieldNumber), Columns.Select(c => c.Field));
        foreach (var (field, column) in fields.Zip(Columns))
        {
            Assert.True(field.IsRepeated && field.IsPacked, $"{field.Name} is not a packed repeated field");
            // Times travel as steps from the event before, hence the field's name.
            Assert.Equal(column.Wire == ColumnWire.TimeDelta ? "TimeDeltaNanos" : column.Name, field.PropertyName);
            Assert.Equal(field.FieldType switch
            {
                FieldType.Enum => ColumnWire.Int32,
                FieldType.UInt32 => ColumnWire.UInt32,
                FieldType.UInt64 when column.Type == typeof(long) => ColumnWire.TimeDelta,
                FieldType.UInt64 => ColumnWire.UInt64,
                var other => throw new Xunit.Sdk.XunitException($"{field.Name}: no column wire carries {other}"),
            }, column.Wire);
            if (field.FieldType == FieldType.Enum)
            {
                Assert.True(column.Type.IsEnum, $"{column.Name} holds {column.Type}, not memprof's enum");
                Assert.Equal(field.EnumType.ClrType.Name, column.Type.Name);
            }
        }
    }

    [Fact]
    public void A_raw_event_has_the_schemas_columns_in_order()
    {
        var parameters = typeof(RawEvent).GetConstructors().Single().GetParameters();
        Assert.Equal(Columns.Select(c => (c.Name, c.Type)), parameters.Select(p => (p.Name!, p.ParameterType)));
    }

    [Fact]
    public void Event_columns_hold_an_array_for_each_column_and_nothing_else()
    {
        var arrays = typeof(EventColumns).GetFields(BindingFlags.Public | BindingFlags.Instance)
            .Select(f => (f.Name, f.FieldType)).OrderBy(f => f.Name);
        Assert.Equal(Columns.Select(c => (c.Name, c.Type.MakeArrayType())).OrderBy(c => c.Name), arrays);
    }

    [Fact]
    public void The_models_table_shows_every_column_with_stacks_in_place_of_raw_stack_ids()
    {
        var expected = Columns.Select(c => c.Name == nameof(RawEvent.StackId)
            ? (nameof(AllocationTable.Stack), typeof(StackId[]))
            : (c.Name, c.Type.MakeArrayType()));
        var shown = typeof(AllocationTable).GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.PropertyType.IsArray).Select(p => (p.Name, p.PropertyType));
        Assert.Equal(expected.OrderBy(c => c.Item1), shown.OrderBy(c => c.Name));
    }

    [Theory]
    [InlineData(typeof(EventKind), typeof(Proto.EventKind))]
    [InlineData(typeof(AllocFunction), typeof(Proto.AllocFunction))]
    public void Memprofs_enums_are_the_recordings_value_for_value(Type ours, Type wire)
    {
        static IEnumerable<(string, int)> Members(Type t) =>
            Enum.GetNames(t).Select(n => (n, Convert.ToInt32(Enum.Parse(t, n)))).OrderBy(m => m.Item2);
        Assert.Equal(Members(wire), Members(ours));
    }

    /// <summary>Each column gets values from its own range, so a column dropped, swapped or
    /// misplaced by a permutation shows; times run backwards so the model must reorder them.</summary>
    [Fact]
    public void Every_column_reaches_the_model_permuted_into_time_order()
    {
        const int n = 50;
        var columns = new EventColumns();
        for (int i = 0; i < n; i++)
            columns.Add(new RawEvent((EventKind)(1 + i % 2), 1000 - 10L * i, 7, 100u + (uint)i, 0x10_000UL + (ulong)i,
                2000UL + (ulong)i, 3000UL + (ulong)i, 0, (AllocFunction)(1 + i % 9)));
        columns.TrimExcess();
        var raw = new RawRecording
        {
            Header = new Proto.Header { TargetPid = 7 }, Modules = [], Threads = [], Stacks = new RawStackTable(),
            Events = columns, Exits = [], Warnings = [],
        };
        var table = ProfileModelBuilder.Build(raw, new NoSymbols()).Events;

        Assert.Equal(n, table.Count);
        foreach (var column in Columns.Where(c => c.Name != nameof(RawEvent.StackId)))
        {
            var expected = (Array)typeof(EventColumns).GetField(column.Name)!.GetValue(columns)!;
            var actual = (Array)typeof(AllocationTable).GetProperty(column.Name)!.GetValue(table)!;
            Assert.Equal(n, actual.Length);
            for (int k = 0; k < n; k++)
                Assert.True(Equals(expected.GetValue(n - 1 - k), actual.GetValue(k)),
                    $"{column.Name}[{k}]: expected {expected.GetValue(n - 1 - k)}, got {actual.GetValue(k)}");
        }
    }

    sealed class NoSymbols : IFrameResolver
    {
        public IReadOnlyList<ResolvedFrame> Resolve(MappedModule module, ulong lookupOffset, ulong fileOffset) => [];
    }
}
