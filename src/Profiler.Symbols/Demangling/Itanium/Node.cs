namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>
/// One element of a parsed Itanium name. Most elements are binary (Left/Right); leaves carry
/// text, a number, or a table entry. Nodes are shared when a substitution refers back to them,
/// so the tree is really a DAG, which is why printing guards against re-entering a node.
/// </summary>
internal sealed class Node
{
    public Node(NodeKind kind, Node? left = null, Node? right = null)
    {
        Kind = kind;
        Left = left;
        Right = right;
    }

    /// <summary>Mutable because cv-qualifiers are re-labelled once a following function type shows they qualify "this".</summary>
    public NodeKind Kind { get; set; }

    /// <summary>Mutable because the parser clears return types of local-name scopes after the fact.</summary>
    public Node? Left { get; set; }

    public Node? Right { get; set; }

    public string Text { get; init; } = "";

    public int Number { get; init; }

    public OperatorInfo? Operator { get; init; }

    public BuiltinTypeInfo? Builtin { get; init; }

    /// <summary>The 'x' of _FloatNx, or '\0'.</summary>
    public char Suffix { get; init; }

    /// <summary>How many times this node is on the printer's stack; a third entry means a substitution cycle.</summary>
    public int ActivePrints { get; set; }

    public static Node Named(string text) => new(NodeKind.Name) { Text = text };

    public bool IsFunctionQualifier => Kind is NodeKind.RestrictThis or NodeKind.VolatileThis or NodeKind.ConstThis
        or NodeKind.ReferenceThis or NodeKind.RvalueReferenceThis or NodeKind.TransactionSafe
        or NodeKind.Noexcept or NodeKind.ThrowSpec;

    public bool IsCvQualifier => Kind is NodeKind.Restrict or NodeKind.Volatile or NodeKind.Const;

    /// <summary>
    /// Builds a node, or returns null when a required child is missing; this is how a failed
    /// sub-parse propagates upward without every caller checking.
    /// </summary>
    public static Node? Make(NodeKind kind, Node? left, Node? right = null)
    {
        switch (kind)
        {
            case NodeKind.QualifiedName or NodeKind.LocalName or NodeKind.TypedName or NodeKind.TaggedName
                or NodeKind.Template or NodeKind.ConstructionVirtualTable or NodeKind.VendorTypeQualifier
                or NodeKind.PointerToMemberType or NodeKind.Unary or NodeKind.Binary or NodeKind.BinaryArguments
                or NodeKind.Trinary or NodeKind.TrinaryArgument1 or NodeKind.Literal or NodeKind.NegativeLiteral
                or NodeKind.VendorExpression or NodeKind.VectorType or NodeKind.Clone or NodeKind.ModuleEntity:
                if (left is null || right is null)
                {
                    return null;
                }

                break;
            case NodeKind.ArrayType or NodeKind.InitializerList or NodeKind.ModuleName or NodeKind.ModulePartition:
                if (right is null)
                {
                    return null;
                }

                break;
            case NodeKind.FunctionType or NodeKind.Restrict or NodeKind.Volatile or NodeKind.Const
                or NodeKind.ArgumentList or NodeKind.TemplateArgumentList or NodeKind.TemplateTypeParm
                or NodeKind.RestrictThis or NodeKind.VolatileThis or NodeKind.ConstThis or NodeKind.ReferenceThis
                or NodeKind.RvalueReferenceThis or NodeKind.TransactionSafe or NodeKind.Noexcept or NodeKind.ThrowSpec:
                break;
            default:
                if (left is null)
                {
                    return null;
                }

                break;
        }

        return new Node(kind, left, right);
    }
}
