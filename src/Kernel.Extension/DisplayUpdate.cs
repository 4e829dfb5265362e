using Microsoft.AspNetCore.Html;
using Microsoft.DotNet.Interactive;
using Microsoft.DotNet.Interactive.Events;
using Microsoft.DotNet.Interactive.Formatting;

namespace MemNotebook.Kernel;

/// <summary>Replaces what a displayed value shows with new HTML.</summary>
internal static class DisplayUpdate
{
    /// <summary>
    /// Published on the cell's own context: <see cref="DisplayedValue.Update"/> looks for the current context, which a
    /// timer thread and the cell's completion do not always have.
    /// </summary>
    public static void Html(KernelInvocationContext context, DisplayedValue display, string html) =>
        context.Publish(new DisplayedValueUpdated(new HtmlString(html), display.DisplayId, context.Command,
            [new FormattedValue(HtmlFormatter.MimeType, html)]));
}
