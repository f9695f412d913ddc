"""The inbox's pages: server-rendered, Swedish, working without JavaScript. Handlers read the
local cache and call the agent core; they never talk to the hub themselves.

    common      render(), the app key of the agent, labels, times, deadlines, receipts in words
    uploads     a form's chosen attachments: the size limit, stored into the cache
    inbox_list  the list of cases and its deadline banners
    compose     Ny förfrågan: the form, drafts, autosave, the review step, sending
    choices     whom to ask: the members with their kommunmall; in a case, those that said yes
    pre_inquiry Ny förhandsförfrågan: the short first question, checked, then sent
    case_view   one case as its page and its PDF show it
    case        the case page, its Utfallet section, its actions and its PDF
    outcome     filing the outcome report: the form, the confirmation step, sending
    attachment  an attachment downloaded
    keys        Kontakt och nycklar
    notices     a post's message shown once (flash), closing notices, the error pages
    status      status.json
"""
