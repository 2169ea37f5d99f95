"""Chat handlers: stream an answer, the one-question API, export, ratings and comments."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import gradio as gr

from assistant.core.errors import BriefingError
from assistant.core.models import Answer, Message, TokenEvent
from assistant.web import format as fmt
from assistant.web.base import (
    MAX_COMMENT_CHARS,
    MAX_TURNS,
    ChatSession,
    HandlerBase,
    guarded,
    session_input,
    text_input,
)

MAX_QUESTION_CHARS = 100_000
#: What Gradio's like event may carry as ``liked``, as the feedback store's rating.
RATINGS: dict[bool | str, str] = {True: "up", "Like": "up", False: "down", "Dislike": "down"}

ChatFrame = tuple[list[dict[str, str]], ChatSession, str]


class ChatHandlers(HandlerBase):
    """The Chat tab: questions, the conversation, its export and the feedback on answers."""

    @guarded
    def chat(
        self, question: Any, documents: Any, doc_types: Any, session: Any
    ) -> Iterator[ChatFrame]:
        """Stream an answer into the conversation; the final message has its sources."""
        session = session_input(session)
        question = text_input(question, "question", MAX_QUESTION_CHARS)
        filters = self._filters(documents, doc_types)
        if len(session.turns) >= MAX_TURNS:
            raise gr.Error(
                f"this conversation has {MAX_TURNS} questions; "
                "export it and start a new conversation"
            )
        done = fmt.chat_messages(session.turns)
        pending = [
            {"role": "user", "content": fmt.user_markdown(question)},
            {"role": "assistant", "content": "_Searching the documents…_"},
        ]
        yield done + pending, session, ""
        text, answer = "", None
        try:
            events = self.service.stream(question, list(session.history), filters)
            while (event := self._run(next, events, None)) is not None:
                if isinstance(event, TokenEvent):
                    text += event.text
                    pending[1] = {"role": "assistant", "content": fmt.partial_markdown(text)}
                    yield done + pending, session, ""
                else:
                    answer = event.answer
        except BriefingError as exc:
            yield done, session, question  # the question goes back into the box
            raise gr.Error(str(exc)) from None
        if not isinstance(answer, Answer):
            raise RuntimeError("the answer stream ended without an answer")
        session.turns.append(
            fmt.Turn(
                question=question,
                answer_text=answer.text,
                answer_md=fmt.answer_markdown(answer),
                citations=list(answer.citations),
                history=list(session.history),
            )
        )
        session.history += [
            Message(role="user", content=question),
            Message(role="assistant", content=answer.text),
        ]
        yield fmt.chat_messages(session.turns), session, ""

    @guarded
    def ask(
        self, question: Any, documents: Any = None, doc_types: Any = None
    ) -> tuple[str, list[dict[str, Any]]]:
        """API only: one question (no history) -> the answer as sanitised Markdown and citations."""
        question = text_input(question, "question", MAX_QUESTION_CHARS)
        filters = self._filters(documents, doc_types)
        answer: Answer = self._run(self.service.ask, question, (), filters)
        return fmt.answer_markdown(answer), fmt.citation_dicts(answer.citations)

    @guarded
    def new_conversation(self) -> tuple[Any, ...]:
        """An empty conversation, question box and hidden download button."""
        return [], ChatSession(), "", gr.DownloadButton(value=None, visible=False)

    @guarded
    def export_conversation(self, session: Any) -> str:
        """The conversation as a Markdown file with every source quoted; its path."""
        session = session_input(session)
        if not session.turns:
            raise gr.Error("nothing to export yet: ask a question first")
        stamp = time.strftime("%Y%m%d-%H%M")
        path = self._export_folder() / f"briefing-conversation-{stamp}.md"
        path.write_text(fmt.conversation_markdown(session.turns), encoding="utf-8")
        return str(path)

    @guarded
    def rate(self, session: Any, like: gr.LikeData) -> tuple[ChatSession, str]:
        """A thumbs up or down on an answer: stored with the question, answer and sources."""
        session = session_input(session)
        index = like.index[0] if isinstance(like.index, list | tuple) else like.index
        turns = session.turns
        if not isinstance(index, int) or index % 2 != 1 or not 0 <= index // 2 < len(turns):
            raise gr.Error("that message is not an answer in this conversation")
        turn_no = index // 2
        turn = turns[turn_no]
        rating = RATINGS.get(like.liked) if isinstance(like.liked, bool | str) else None
        store = self.service.feedback
        if rating is None:  # the rating was taken back
            if turn.feedback_id is not None:
                store.delete(turn.feedback_id)
                turn.feedback_id = None
            return session, "Rating removed."
        if turn.feedback_id is None:
            turn.feedback_id = store.record(
                turn.question,
                turn.answer_text,
                rating,
                "",
                fmt.citation_dicts(turn.citations),
                [m.model_dump() for m in turn.history],
            )
        else:
            store.set_rating(turn.feedback_id, rating)
        session.last_rated = turn_no
        verdict = "helpful" if rating == "up" else "not helpful"
        return session, f"Thank you: rated {verdict}. Add a comment below if you wish."

    @guarded
    def comment(self, text: Any, session: Any) -> tuple[ChatSession, str, str]:
        """A comment saved with the last rating of this session."""
        session = session_input(session)
        text = text_input(text, "comment", MAX_COMMENT_CHARS).strip()
        if not text:
            raise gr.Error("write a comment first")
        rated = session.last_rated
        turn = session.turns[rated] if rated is not None else None
        if turn is None or turn.feedback_id is None:
            raise gr.Error(
                "rate an answer first (thumbs up or down); the comment is saved with that rating"
            )
        self.service.feedback.set_comment(turn.feedback_id, text)
        return session, "Comment saved with your rating.", ""
