using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Profiler.Symbols.Demangling.Itanium;

/// <summary>
/// Turns a parsed <see cref="Node"/> tree into text formatted exactly as c++filt does: declarator
/// syntax for pointers to functions and arrays, "> >" spacing, template parameters replaced by
/// their arguments. Printing fails (returns null) on inconsistent trees, runaway recursion or
/// output that grows past a sane size.
/// </summary>
internal sealed partial class Printer
{
    private const int MaxRecursion = 400;

    /// <summary>Substitutions can make output exponential in the input; real names stay far below this.</summary>
    private const int MaxOutputLength = 1 << 18;

    private readonly StringBuilder _output = new();

    /// <summary>Nodes currently being printed, innermost last; used to decide when a saved template scope applies.</summary>
    private readonly List<Node> _nodeStack = new();

    private readonly Dictionary<Node, TemplateScope?> _savedScopes = new(ReferenceEqualityComparer.Instance);

    /// <summary>
    /// The last character appended. Deliberately not updated when a dangling ", " is removed, since the
    /// reference implementation behaves that way and it decides whether "> >" gets its space.
    /// </summary>
    private char _lastChar;

    private bool _failed;

    private TemplateScope? _templates;

    private Modifier? _modifiers;

    private Node? _currentTemplate;

    /// <summary>1 + number of explicit template parameters of the lambda being printed; 0 outside lambdas.</summary>
    private int _lambdaTemplateParms;

    /// <summary>Which element of an argument pack is being expanded, or -1 for the whole pack.</summary>
    private int _packIndex;

    private int _recursion;

    /// <summary>A template whose arguments template parameters refer to.</summary>
    private sealed record TemplateScope(Node? Declaration, TemplateScope? Next);

    /// <summary>A pending type modifier (pointer, cv, function...) that the innermost type prints around itself.</summary>
    private sealed class Modifier
    {
        public Modifier(Node node, Modifier? next, TemplateScope? templates)
        {
            Node = node;
            Next = next;
            Templates = templates;
        }

        public Node Node { get; set; }

        public Modifier? Next { get; set; }

        public bool Printed { get; set; }

        public TemplateScope? Templates { get; set; }

        public Modifier Copy() => new(Node, Next, Templates) { Printed = Printed };
    }

    public static string? Print(Node root)
    {
        var printer = new Printer();
        printer.PrintNode(root);
        return printer._failed ? null : printer._output.ToString();
    }

    private void Fail() => _failed = true;

    private void Append(char c)
    {
        _output.Append(c);
        _lastChar = c;
        if (_output.Length > MaxOutputLength)
        {
            Fail();
        }
    }

    private void Append(string text)
    {
        if (text.Length == 0)
        {
            return;
        }

        _output.Append(text);
        _lastChar = text[^1];
        if (_output.Length > MaxOutputLength)
        {
            Fail();
        }
    }

    private void AppendNumber(int value) => Append(value.ToString(CultureInfo.InvariantCulture));

    private void PrintNode(Node? node)
    {
        if (node is null || node.ActivePrints > 1 || _recursion > MaxRecursion
            || !RuntimeHelpers.TryEnsureSufficientExecutionStack())
        {
            Fail();
            return;
        }

        node.ActivePrints++;
        _recursion++;
        _nodeStack.Add(node);
        try
        {
            if (!_failed)
            {
                PrintNodeBody(node);
            }
        }
        finally
        {
            _nodeStack.RemoveAt(_nodeStack.Count - 1);
            _recursion--;
            node.ActivePrints--;
        }
    }

    private void PrintNodeBody(Node node)
    {
        switch (node.Kind)
        {
            case NodeKind.Name or NodeKind.StandardSubstitution:
                Append(node.Text);
                return;
            case NodeKind.TaggedName:
                PrintNode(node.Left);
                Append("[abi:");
                PrintNode(node.Right);
                Append(']');
                return;
            case NodeKind.StructuredBinding:
                PrintStructuredBinding(node);
                return;
            case NodeKind.ModuleEntity:
                PrintNode(node.Left);
                Append('@');
                PrintNode(node.Right);
                return;
            case NodeKind.ModuleName or NodeKind.ModulePartition:
                if (node.Left is not null)
                {
                    PrintNode(node.Left);
                }

                if (node.Kind == NodeKind.ModulePartition)
                {
                    Append(':');
                }
                else if (node.Left is not null)
                {
                    Append('.');
                }

                PrintNode(node.Right);
                return;
            case NodeKind.QualifiedName or NodeKind.LocalName:
                PrintNode(node.Left);
                Append("::");
                PrintScopedEntity(node.Right);
                return;
            case NodeKind.TypedName:
                PrintTypedName(node);
                return;
            case NodeKind.Template:
                PrintTemplate(node);
                return;
            case NodeKind.TemplateParam:
                PrintTemplateParam(node);
                return;
            case NodeKind.Constructor:
                PrintNode(node.Left);
                return;
            case NodeKind.Destructor:
                Append('~');
                PrintNode(node.Left);
                return;
            case NodeKind.ConstructionVirtualTable:
                Append("construction vtable for ");
                PrintNode(node.Left);
                Append("-in-");
                PrintNode(node.Right);
                return;
            case NodeKind.ReferenceTemporary:
                Append("reference temporary #");
                PrintNode(node.Right);
                Append(" for ");
                PrintNode(node.Left);
                return;
            case NodeKind.BuiltinType:
                Append(node.Builtin!.Name);
                return;
            case NodeKind.ExtendedBuiltinType:
                Append(node.Builtin!.Name);
                AppendNumber(node.Number);
                if (node.Suffix != '\0')
                {
                    Append(node.Suffix);
                }

                return;
            case NodeKind.VendorType:
                PrintNode(node.Left);
                return;
            case NodeKind.ArgumentList or NodeKind.TemplateArgumentList:
                PrintList(node);
                return;
            case NodeKind.Number:
                AppendNumber(node.Number);
                return;
            case NodeKind.Lambda:
                PrintLambda(node);
                return;
            case NodeKind.UnnamedType:
                Append("{unnamed type#");
                AppendNumber(node.Number + 1);
                Append('}');
                return;
            case NodeKind.Clone:
                PrintNode(node.Left);
                Append(" [clone ");
                PrintNode(node.Right);
                Append(']');
                return;
            default:
                if (SpecialNamePrefix(node.Kind) is { } prefix)
                {
                    Append(prefix);
                    PrintNode(node.Left);
                    return;
                }

                if (!TryPrintType(node) && !TryPrintExpression(node) && !TryPrintTemplateParm(node))
                {
                    Fail();
                }

                return;
        }
    }

    private static string? SpecialNamePrefix(NodeKind kind) => kind switch
    {
        NodeKind.VirtualTable => "vtable for ",
        NodeKind.VirtualTableTable => "VTT for ",
        NodeKind.TypeInfo => "typeinfo for ",
        NodeKind.TypeInfoName => "typeinfo name for ",
        NodeKind.TypeInfoFunction => "typeinfo fn for ",
        NodeKind.Thunk => "non-virtual thunk to ",
        NodeKind.VirtualThunk => "virtual thunk to ",
        NodeKind.CovariantThunk => "covariant return thunk to ",
        NodeKind.JavaClass => "java Class for ",
        NodeKind.GuardVariable => "guard variable for ",
        NodeKind.TlsInit => "TLS init function for ",
        NodeKind.TlsWrapper => "TLS wrapper function for ",
        NodeKind.HiddenAlias => "hidden alias for ",
        NodeKind.TransactionClone => "transaction clone for ",
        NodeKind.NonTransactionClone => "non-transaction clone for ",
        NodeKind.TemplateParamObject => "template parameter object for ",
        NodeKind.ModuleInit => "initializer for module ",
        NodeKind.GlobalConstructors => "global constructors keyed to ",
        NodeKind.GlobalDestructors => "global destructors keyed to ",
        _ => null,
    };
}
