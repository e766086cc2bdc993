namespace Profiler.Core.Recording;

/// <summary>One allocation or free as a collector reports it: raw addresses, no symbols.</summary>
/// <remarks>Its members are the event columns; <see cref="EventColumns.Schema"/> lists them with
/// their wire fields, and a test holds this type, that list, the recording's EventBatch and the
/// model's <see cref="Model.AllocationTable"/> to the same columns.</remarks>
public readonly record struct RawEvent(
    EventKind Kind,
    long TimeNanos,
    uint Pid,
    uint Tid,
    ulong Address,
    ulong Size,
    ulong Weight,
    ulong StackId,
    AllocFunction Function);
